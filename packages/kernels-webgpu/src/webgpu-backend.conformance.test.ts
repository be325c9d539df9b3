// The shared op-conformance suite (every op compared with the CPU reference backend) run on WebGPU. On CI's lavapipe
// the adapter must exist (STRATA_REQUIRE_WEBGPU=1): createWebGpuBackend throws NO_ADAPTER and the suite fails.
// The backend runs as users get it: prefill products of Q8_0/Q4_K weights take 8-bit activations
// (`tuning.int8Prefill`, on by default), and so would the products of batched decode steps with
// `tuning.int8BatchRows` (off by default), so those cases get the int8 tolerance; matmul.test.ts covers the f32 tiles.
import { describeBackendConformance, INT8_ACTIVATION_TOLERANCE } from '@strata/backend-conformance';
import { DEFAULT_WEBGPU_TUNING } from './runtime/tuning.js';
import { createWebGpuBackend, type WebGpuBackend } from './webgpu-backend.js';

const { int8Prefill, int8BatchRows } = DEFAULT_WEBGPU_TUNING;
describeBackendConformance('webgpu', () => createWebGpuBackend(), {
  release: (backend) => (backend as WebGpuBackend).destroy(),
  tolerances: {
    ...(int8Prefill ? { prefillMatmul: INT8_ACTIVATION_TOLERANCE } : {}),
    // The batched-product case has 20 rows.
    ...(int8BatchRows > 0 && int8BatchRows <= 20 ? { batchedMatmul: INT8_ACTIVATION_TOLERANCE } : {}),
  },
});
