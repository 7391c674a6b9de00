/** The InputErrors the image code raises; codes are stable (ERR_IMAGE_*), all exit 3. */
import { InputError } from '../errors.js';
import { locatorOf, type PackageRef } from '../plan/names.js';

/** An archive entry that would land outside its directory or is not a plain file, dir or link. */
export function unsafeEntry(archive: string, entry: string, why: string): InputError {
  return new InputError('ERR_IMAGE_UNSAFE_ENTRY', `${archive}: refusing unsafe entry "${entry}": ${why}`, {
    hint: 'the archive was not extracted; rebuild it from a trusted source (hoist builds archives without such entries)',
  });
}

/** A blob whose content does not match the index. */
export function checksumMismatch(image: string, ref: PackageRef, expected: string, actual: string): InputError {
  return new InputError(
    'ERR_IMAGE_CHECKSUM',
    `${image}: package ${locatorOf(ref)} does not match its checksum (index sha256 ${expected.slice(0, 12)}…, blob ${actual.slice(0, 12)}…)`,
    { hint: 'the image is damaged or was altered; rebuild it or copy it again' },
  );
}

/** A package the manifest or index names but the image does not hold. */
export function packageMissing(image: string, what: string, details: string[] = []): InputError {
  return new InputError('ERR_IMAGE_PACKAGE_MISSING', `${image}: ${what}`, {
    hint: 'add the missing package folders under packages/ and rebuild the image',
    details,
  });
}

/** An archive that cannot be read as tar (or tar.gz). */
export function badArchive(archive: string, err: unknown): InputError {
  return new InputError('ERR_IMAGE_ARCHIVE', `${archive}: not a readable tar archive: ${(err as Error)?.message ?? String(err)}`, {
    hint: 'rebuild the archive, or pass the image directory',
    cause: err,
  });
}
