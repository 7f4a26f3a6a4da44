export { describeApiError, isAlreadyExists, isConflict, isGone, isNotFound, statusOf } from './api-errors.js';
export { backoffDelayMs, sleep, type BackoffOptions } from './backoff.js';
export {
  EventRecorder,
  type EventApi,
  type EventRecorderOptions,
  type EventType,
  type InvolvedObject,
} from './event-recorder.js';
export {
  isExpired,
  LeaderElector,
  type LeaderCallbacks,
  type LeaderElectorOptions,
  type LeaseApi,
  type StoppedLeadingReason,
} from './leader-election.js';
export { objectKey, splitObjectKey } from './object-key.js';
export { abortable, timeoutSignal, withSignal } from './request-signal.js';
export {
  createResilientInformer,
  ResilientInformer,
  WatchdogTimeoutError,
  type InformerEventType,
  type InformerFactory,
  type InformerHandler,
  type ResilientInformerOptions,
} from './resilient-informer.js';
export { WorkQueue, type KeyHandler, type ReconcileResult, type WorkQueueOptions } from './work-queue.js';
