/**
 * The naming rules every layer shares: node names (a DNS label: they become phase ids, file names
 * and Kubernetes node names) and package locators `name:version` (the name becomes a path segment
 * on nodes, the version is canonical semver). The inventory schema, the image schema, the plan
 * gates and the agent's parameters all check names here, so a name one accepts the others accept.
 */
import semver from 'semver';
import { InputError } from '../errors.js';

const NODE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const PACKAGE_NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** True for a node name: a DNS label (lowercase letters, digits and "-", at most 63 characters). */
export function isNodeName(value: string): boolean {
  return NODE_NAME.test(value);
}

/** True for a package name usable as a path segment and in a `name:version` locator. */
export function isPackageName(value: string): boolean {
  return PACKAGE_NAME.test(value) && value.length <= 128;
}

/** True for a canonical semver version (no leading `v`, no spaces). */
export function isSemver(value: string): boolean {
  return semver.valid(value) === value;
}

/** Identifies a package: `name` and `version`. */
export interface PackageRef {
  name: string;
  version: string;
}

/** `name:version` of a package. */
export function locatorOf(ref: PackageRef): string {
  return `${ref.name}:${ref.version}`;
}

/** Splits `name:version`; undefined unless the name is a package name and the version canonical semver. */
export function readLocator(value: string): PackageRef | undefined {
  const colon = value.indexOf(':');
  if (colon <= 0) return undefined;
  const ref = { name: value.slice(0, colon), version: value.slice(colon + 1) };
  return isPackageName(ref.name) && isSemver(ref.version) ? ref : undefined;
}

/** True for a valid `name:version` locator. */
export function isLocator(value: string): boolean {
  return readLocator(value) !== undefined;
}

/** Parses a locator; `field` names where it came from in the InputError (exit 3) for a bad one. */
export function parseLocator(value: string, field: string): PackageRef {
  const ref = readLocator(value);
  if (!ref) {
    throw new InputError('ERR_LOCATOR_INVALID', `${field}: "${value}" is not a package locator of the form name:version`, {
      hint: 'write locators as name:semver, e.g. "runtime:7.0.56-11709" or "dns-app:7.0.3"',
    });
  }
  return ref;
}
