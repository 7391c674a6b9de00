/**
 * Version comparison and changed packages. Every version is semver; runtime
 * builds such as `7.0.56-11709` parse with the build number as a pre-release tag, which orders
 * builds of one release correctly among themselves.
 */
import semver from 'semver';
import { InputError } from '../../errors.js';
import { type PackageRef, parseLocator } from '../names.js';

/** Checks that `value` is a semver version; `field` names where it came from. */
export function requireVersion(value: string, field: string): string {
  if (!semver.valid(value)) {
    throw new InputError('ERR_VERSION_INVALID', `${field}: "${value}" is not a semantic version`, {
      hint: 'versions must be semver, e.g. 2.0.0 or 7.0.56-11709',
    });
  }
  return value;
}

/** True when version `a` is strictly newer than `b`. */
export function isNewer(a: string, b: string): boolean {
  return semver.gt(a, b);
}

/** True when `a` and `b` are the same version (build metadata ignored, as semver does). */
export function sameVersion(a: string, b: string): boolean {
  return semver.eq(a, b);
}

/** True when `version` lies in the semver `range`; pre-release installs count. */
export function satisfiesRange(version: string, range: string): boolean {
  return semver.satisfies(version, range, { includePrerelease: true });
}

/** True when `range` parses as a semver range. */
export function isValidRange(range: string): boolean {
  return semver.validRange(range) !== null;
}

/**
 * Locators of `target` that are new or newer than in `installed`, in `target` order. A package
 * that went backwards is left alone, as Gravity does: downgrading a system app is never planned.
 */
export function changedPackages(
  installed: readonly string[],
  target: readonly string[],
  field: string,
): Array<PackageRef & { from?: string }> {
  const before = new Map<string, string>();
  installed.forEach((l, i) => {
    const p = parseLocator(l, `installed.${field}[${i}]`);
    before.set(p.name, p.version);
  });
  const out: Array<PackageRef & { from?: string }> = [];
  target.forEach((l, i) => {
    const p = parseLocator(l, `target.${field}[${i}]`);
    const from = before.get(p.name);
    if (from === undefined) out.push(p);
    else if (isNewer(p.version, from)) out.push({ ...p, from });
  });
  return out;
}
