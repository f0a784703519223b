/** The tokens module's public surface: what a peer token carries (audience, algorithm). */
export { createPeerTokenVerifier, FEDERATION_AUDIENCE, JWT_ALGORITHM } from './token-codec.js';
export { type Role } from './token-codec.js';
