/**
 * Image folders: `root/<class>/**.{png,jpg,jpeg}`, one sub-folder per class. Class indices follow
 * the sorted folder names (as torchvision's ImageFolder); files are taken in sorted path order.
 * Each image is decoded once with sharp, auto-oriented, alpha dropped, converted to sRGB,
 * resized so the shorter side is `size` (bilinear) and center-cropped to size × size.
 * Unreadable images are skipped and reported by path, or fatal with `strict`.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ImageDataset } from './dataset.ts';
import { CbdmError } from '../util/errors.ts';

/** How `loadImageFolder` decodes. */
export interface FolderOptions {
  /** Output height = width in pixels. */
  size: number;
  /** Fail on the first batch of unreadable images instead of skipping them; default false. */
  strict?: boolean;
  /** Images decoded at once; default 8. */
  concurrency?: number;
  /** Called with non-fatal notices (default console.warn). */
  onWarning?: (msg: string) => void;
}

/** An image that could not be decoded, and why. */
export interface SkippedImage {
  path: string;
  reason: string;
}

/** A folder dataset plus the images it skipped. */
export interface FolderDataset extends ImageDataset {
  /** Images that were skipped because they could not be decoded. */
  skipped: SkippedImage[];
}

const IMAGE_EXT = /\.(png|jpe?g)$/i;

function listImages(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...listImages(p));
    else if (st.isFile() && IMAGE_EXT.test(name)) out.push(p);
  }
  return out;
}

/** Decode one file to size × size × 3 HWC uint8 (cover-resize, centre crop). */
async function decodeOne(path: string, size: number): Promise<Buffer> {
  const { data, info } = await sharp(path, { failOn: 'warning' })
    .rotate()
    .removeAlpha()
    .toColourspace('srgb')
    .resize(size, size, { fit: 'cover', position: 'centre', kernel: 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== size || info.height !== size) throw new Error(`decoded to ${info.width}×${info.height}×${info.channels}, expected ${size}×${size}×3`);
  return data;
}

/** Load `root` as a labelled dataset of size × size RGB images (uint8 CHW). */
export async function loadImageFolder(root: string, opts: FolderOptions): Promise<FolderDataset> {
  const size = opts.size;
  if (!(Number.isInteger(size) && size >= 1 && size <= 4096)) throw new CbdmError(`image size must be an integer in [1, 4096], got ${size}`);
  const warn = opts.onWarning ?? ((m: string) => console.warn(`cbdm: warning: ${m}`));
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new CbdmError(`image folder ${root} does not exist or is not a folder; expected ${root}/<class name>/<images>.png|jpg`);
  const classNames = readdirSync(root).filter((n) => !n.startsWith('.') && statSync(join(root, n)).isDirectory()).sort();
  if (classNames.length === 0) throw new CbdmError(`image folder ${root} has no class sub-folders; expected ${root}/<class name>/<images>.png|jpg (one sub-folder per class)`);
  const files: { path: string; label: number }[] = [];
  classNames.forEach((c, label) => {
    const imgs = listImages(join(root, c));
    if (imgs.length === 0) warn(`class folder ${join(root, c)} holds no PNG/JPEG images`);
    for (const path of imgs) files.push({ path, label });
  });
  if (files.length === 0) throw new CbdmError(`image folder ${root} holds no PNG/JPEG images in its ${classNames.length} class folders`);

  const per = 3 * size * size;
  const decoded: (Buffer | null)[] = new Array(files.length).fill(null);
  const skipped: SkippedImage[] = [];
  let next = 0;
  const worker = async () => {
    for (;;) {
      const k = next++;
      if (k >= files.length) return;
      try {
        decoded[k] = await decodeOne(files[k]!.path, size);
      } catch (e) {
        skipped.push({ path: files[k]!.path, reason: (e as Error).message.split('\n')[0]! });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 8) }, worker));
  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (skipped.length > 0) {
    const list = skipped.map((s) => `  ${s.path}: ${s.reason}`).join('\n');
    if (opts.strict) throw new CbdmError(`${skipped.length} image(s) in ${root} could not be decoded:\n${list}\nfix or remove them, or load without strict mode to skip them`);
    warn(`skipped ${skipped.length} unreadable image(s) in ${root}:\n${list}`);
  }

  const n = files.length - skipped.length;
  const images = new Uint8Array(n * per);
  const labels = new Int32Array(n);
  const sourceIndex = new Int32Array(n);
  const counts = new Array<number>(classNames.length).fill(0);
  const plane = size * size;
  let at = 0;
  for (let k = 0; k < files.length; k++) {
    const hwc = decoded[k];
    if (!hwc) continue;
    const o = at * per;
    for (let p = 0; p < plane; p++) {
      images[o + p] = hwc[3 * p]!;
      images[o + plane + p] = hwc[3 * p + 1]!;
      images[o + 2 * plane + p] = hwc[3 * p + 2]!;
    }
    labels[at] = files[k]!.label;
    sourceIndex[at] = k;
    counts[files[k]!.label]!++;
    at++;
  }
  return { name: `folder:${root}`, numClasses: classNames.length, classNames, size, channels: 3, images, labels, counts, sourceIndex, skipped };
}
