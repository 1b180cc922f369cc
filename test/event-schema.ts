/**
 * The documented status-event data schema, compiled once for tests.
 */
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import Ajv2020, {type SchemaObject} from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import {parseJson} from './json';

const schema = parseJson<SchemaObject>(readFileSync(join(__dirname, '..', '..', 'schemas', 'release-event.v1.json'), 'utf8'));
const ajv = new Ajv2020({strict: true, allErrors: true});
addFormats(ajv);

/** Validates `data` against schemas/release-event.v1.json; `errors` explains a refusal. */
export const validateEventData = ajv.compile(schema);
