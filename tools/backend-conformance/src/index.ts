/**
 * @packageDocumentation @strata/backend-conformance — the op-conformance suite every strata backend runs against the
 * CPU reference backend (tfjs style). Private to the monorepo; used only by tests.
 */
export { type BackendConformanceOptions, describeBackendConformance } from './describe-conformance.js';
export {
  type Computation,
  type ConformanceContext,
  compareWithReference,
  createContext,
  expectClose,
  expectStrataError,
  randomFor,
  trackAllocations,
  trackedBackend,
  uploadWeight,
  weightBytesFor,
} from './harness.js';
export { SeededRandom } from './random.js';
export { samplingParameters } from './sampling.js';
export {
  CONFORMANCE_TOLERANCES,
  type ConformanceOp,
  INT8_ACTIVATION_TOLERANCE,
  type Tolerance,
} from './tolerances.js';
export { conformanceColumns, randomWeightBytes } from './weights.js';
