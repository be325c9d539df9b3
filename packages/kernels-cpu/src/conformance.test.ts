// The shared backend conformance suite run on the CPU backend itself: a consistency check of the suite and of the
// backend's determinism (the CPU's correctness comes from its analytic unit tests and the dequantization fixtures).
import { describeBackendConformance } from '@strata/backend-conformance';
import { createCpuBackend } from './cpu-backend.js';

describeBackendConformance('cpu', async () => createCpuBackend());
