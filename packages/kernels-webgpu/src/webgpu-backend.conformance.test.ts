// The shared op-conformance suite (every op compared with the CPU reference backend) run on WebGPU. On CI's lavapipe
// the adapter must exist (STRATA_REQUIRE_WEBGPU=1): createWebGpuBackend throws NO_ADAPTER and the suite fails.
import { describeBackendConformance } from '@strata/backend-conformance';
import { createWebGpuBackend, type WebGpuBackend } from './webgpu-backend.js';

describeBackendConformance('webgpu', () => createWebGpuBackend(), {
  release: (backend) => (backend as WebGpuBackend).destroy(),
});
