/**
 * The incidents module's public surface: the service other modules act through, and the two
 * reads they may make inside their own transaction (one incident, possibly locked; incidents in
 * the order of changes the pull feed follows). Everything else is the module's own.
 */
export { findIncident, listIncidentsByChange, type ChangePosition } from './incident.repository.js';
export { type Actor, type IncidentService } from './incident.service.js';
export { type ErasureEvent, type ErasureListener } from './personal-data.service.js';
export { canMovePhase } from './phase-transitions.js';
