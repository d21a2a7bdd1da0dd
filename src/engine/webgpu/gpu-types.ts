/**
 * The part of the WebGPU API (W3C WebGPU, https://www.w3.org/TR/webgpu/) the `webgpu` backend
 * uses, declared here because TypeScript's DOM library does not carry WebGPU types yet. Only
 * what is called is declared; names and shapes follow the specification.
 */

/** GPUBufferUsage flags (WebGPU §5.1). */
export const BUFFER_USAGE = { MAP_READ: 0x0001, COPY_SRC: 0x0004, COPY_DST: 0x0008, UNIFORM: 0x0040, STORAGE: 0x0080 } as const;
/** GPUMapMode.READ (WebGPU §5.2). */
export const MAP_MODE_READ = 0x0001;

export interface GpuBuffer {
  readonly size: number;
  mapAsync(mode: number, offset?: number, size?: number): Promise<void>;
  getMappedRange(offset?: number, size?: number): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}

export interface GpuBindGroupLayout { readonly label: string }
export interface GpuBindGroup { readonly label: string }

export interface GpuComputePipeline {
  getBindGroupLayout(index: number): GpuBindGroupLayout;
}

export interface GpuShaderModule {
  getCompilationInfo(): Promise<{ messages: ReadonlyArray<{ type: string; message: string; lineNum: number }> }>;
}

export interface GpuComputePassEncoder {
  setPipeline(p: GpuComputePipeline): void;
  setBindGroup(index: number, g: GpuBindGroup): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}

export interface GpuCommandEncoder {
  beginComputePass(): GpuComputePassEncoder;
  clearBuffer(b: GpuBuffer, offset?: number, size?: number): void;
  copyBufferToBuffer(src: GpuBuffer, srcOffset: number, dst: GpuBuffer, dstOffset: number, size: number): void;
  finish(): GpuCommandBuffer;
}

export interface GpuCommandBuffer { readonly label: string }

export interface GpuQueue {
  submit(buffers: GpuCommandBuffer[]): void;
  writeBuffer(b: GpuBuffer, offset: number, data: ArrayBufferView | ArrayBuffer, dataOffset?: number, size?: number): void;
  onSubmittedWorkDone(): Promise<void>;
}

export interface GpuSupportedLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxStorageBuffersPerShaderStage: number;
}

export interface GpuDevice {
  readonly queue: GpuQueue;
  readonly limits: GpuSupportedLimits;
  readonly lost: Promise<{ reason: string; message: string }>;
  createBuffer(d: { size: number; usage: number; mappedAtCreation?: boolean; label?: string }): GpuBuffer;
  createShaderModule(d: { code: string; label?: string }): GpuShaderModule;
  createComputePipeline(d: { layout: 'auto'; compute: { module: GpuShaderModule; entryPoint: string }; label?: string }): GpuComputePipeline;
  createBindGroup(d: { layout: GpuBindGroupLayout; entries: Array<{ binding: number; resource: { buffer: GpuBuffer; offset?: number; size?: number } }> }): GpuBindGroup;
  createCommandEncoder(): GpuCommandEncoder;
  pushErrorScope(filter: 'validation' | 'out-of-memory' | 'internal'): void;
  popErrorScope(): Promise<{ message: string } | null>;
  destroy(): void;
}

export interface GpuAdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
}

export interface GpuAdapter {
  readonly info?: GpuAdapterInfo;
  readonly limits: GpuSupportedLimits;
  requestDevice(d?: { requiredLimits?: Record<string, number> }): Promise<GpuDevice>;
}

/** `navigator.gpu` (WebGPU §4.1). */
export interface Gpu {
  requestAdapter(o?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<GpuAdapter | null>;
}
