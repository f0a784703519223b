/** Time comes through this seam so tests can fix it (fakes, not flags). */
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();
