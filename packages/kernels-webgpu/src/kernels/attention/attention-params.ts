/**
 * WGSL: the uniforms of the attention kernel (both addressings) and of its combine pass. `capacity` is the ring's rows
 * (ring), the rows per page (paged), or the head size (the combine pass); `sequences` and `table_width` (page-table
 * columns) are the paged kernel's.
 */
export const ATTENTION_PARAMS = /* wgsl */ `
struct Params {
  rows: u32, heads: u32, key_value_heads: u32, first_position: u32, capacity: u32,
  window: u32, first_key: u32, scale: f32, softcap: f32, splits: u32, sequences: u32, table_width: u32, page_size: u32,
}
@group(0) @binding(0) var<uniform> params: Params;`;
