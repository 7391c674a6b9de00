/**
 * The upgrade path (spec §6.7, Gravity's "upgrade via"): an installed version the image accepts
 * directly needs no hop; an older one steps through every intermediate version the image embeds
 * that is newer than what is installed, oldest first, each accepting the one before it. A path
 * with a gap is refused before anything runs, naming the versions the image would need.
 */
import { InputError } from '../../errors.js';
import { parseLocator } from '../names.js';
import type { ImageFacts, IntermediateFacts } from './input.js';
import { isNewer, isValidRange, requireVersion, satisfiesRange } from './versions.js';

/** Intermediate versions the upgrade goes through, oldest first; empty for a direct upgrade. */
export function upgradeHops(installed: ImageFacts, target: ImageFacts): IntermediateFacts[] {
  const floor = checkRange(target.upgradeFrom, 'target.upgradeFrom');
  if (floor === undefined || satisfiesRange(installed.version, floor)) return [];
  const hops = (target.upgradeVia ?? [])
    .filter((h) => isNewer(h.version, installed.version) && isNewer(target.version, h.version))
    .sort((a, b) => (isNewer(a.version, b.version) ? 1 : -1));
  let from = installed.version;
  for (const hop of hops) {
    const range = checkRange(hop.upgradeFrom, `target.upgradeVia ${hop.version}.upgradeFrom`);
    if (range !== undefined && !satisfiesRange(from, range)) throw gap(installed, target, floor, from, `${hop.version} (${range})`);
    from = hop.version;
  }
  if (!satisfiesRange(from, floor)) throw gap(installed, target, floor, from, `${target.version} (${floor})`);
  return hops;
}

/** Checks the fields of every embedded intermediate version. */
export function checkIntermediates(image: ImageFacts, side: string): void {
  const seen = new Set<string>();
  for (const [i, hop] of (image.upgradeVia ?? []).entries()) {
    const field = `${side}.upgradeVia[${i}]`;
    requireVersion(hop.version, `${field}.version`);
    requireVersion(hop.etcdVersion, `${field}.etcdVersion`);
    parseLocator(hop.runtime, `${field}.runtime`);
    checkRange(hop.upgradeFrom, `${field}.upgradeFrom`);
    if (seen.has(hop.version)) {
      throw new InputError('ERR_UPGRADE_PATH', `${field}: intermediate version ${hop.version} is listed twice`, {
        hint: 'list every intermediate version of the image once',
      });
    }
    seen.add(hop.version);
  }
}

function checkRange(range: string | undefined, field: string): string | undefined {
  if (range === undefined || isValidRange(range)) return range;
  throw new InputError('ERR_UPGRADE_PATH', `${field}: "${range}" is not a semver range`, {
    hint: 'fix upgradeFrom in the image manifest, e.g. ">=1.0.0 <2.0.0"',
  });
}

// `from` is as far as the embedded hops reach; `next` is the step that does not accept it.
function gap(installed: ImageFacts, target: ImageFacts, floor: string, from: string, next: string): InputError {
  const embedded = (target.upgradeVia ?? []).map((h) => h.version);
  const base = `${target.name} ${target.version} cannot upgrade from installed version ${installed.version} (allowed: ${floor})`;
  const via =
    embedded.length === 0
      ? ''
      : `; its intermediate versions (${embedded.join(', ')}) lead no further than ${from}, which ${next} does not accept`;
  return new InputError('ERR_UPGRADE_PATH', `${base}${via}`, {
    hint: `the image needs an intermediate version of "${installed.name}" that upgrades from ${from} and that ${next} accepts: rebuild it with "hoist image build --upgrade-via IMAGE", or upgrade to such a version first`,
  });
}
