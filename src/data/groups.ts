/**
 * Many / Medium / Few class groups by training-set size, as reported for CIFAR-100-LT:
 * many > 100 images, medium 20–100, few < 20.
 */

export type ClassGroup = 'many' | 'medium' | 'few';

export const CLASS_GROUPS: readonly ClassGroup[] = ['many', 'medium', 'few'];

/** The group of a class with `count` training images. */
export function classGroup(count: number): ClassGroup {
  if (count > 100) return 'many';
  if (count >= 20) return 'medium';
  return 'few';
}

/** Class indices of each group, given per-class training counts. */
export function groupClasses(counts: readonly number[]): Record<ClassGroup, number[]> {
  const out: Record<ClassGroup, number[]> = { many: [], medium: [], few: [] };
  counts.forEach((c, i) => out[classGroup(c)].push(i));
  return out;
}
