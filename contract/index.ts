/**
 * The contract module: the shapes clients see, the domain events that cross
 * process boundaries, and the realtime gateway's rooms and event maps. Server,
 * gateway, workers, tests, the map viewer and load tests all import it, so a
 * change here is a change of the protocol. It imports nothing of the project.
 */
export * from './events.ts';
export * from './realtime.ts';
export * from './shapes.ts';
