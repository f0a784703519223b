/** The profile module's public surface: the team's own description, which the signed profile publishes. */
export { type ProfileService } from './profile.service.js';
