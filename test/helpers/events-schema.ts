/** Validates run events against the published docs/events.schema.json with ajv, as a CI consumer of the stream would. */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';

export const EVENTS_SCHEMA_FILE = new URL('../../docs/events.schema.json', import.meta.url);

/** A check returning undefined for a valid event, else ajv's errors as text. */
export function publishedValidator(): (event: unknown) => string | undefined {
  const validate = new Ajv2020({ strict: true }).compile(JSON.parse(readFileSync(EVENTS_SCHEMA_FILE, 'utf8')));
  return (event) => (validate(event) ? undefined : JSON.stringify(validate.errors));
}
