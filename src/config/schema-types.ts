import { type SchemaOptions, type Static, type TSchema, Type } from '@sinclair/typebox';

/**
 * Schema building blocks for the config file: unit-bearing values (`x-unit`), string enums, strict objects and
 * discriminated unions in the form ajv's `discriminator` option understands (so that a bad tag gives one
 * clear error instead of one per branch).
 */

/** A duration in the file (`500ms`, `2s`, `1m`, `24h` or milliseconds); the default is in the same notation. */
export function Duration(defaultValue: string, description: string) {
  return Type.Unsafe<string | number>({
    type: ['string', 'integer'],
    'x-unit': 'duration',
    default: defaultValue,
    description,
  });
}

/** A size in the file (`512kb`, `4mb`, `1gb` or bytes); the default is in the same notation. */
export function Size(defaultValue: string, description: string) {
  return Type.Unsafe<string | number>({
    type: ['string', 'integer'],
    'x-unit': 'size',
    default: defaultValue,
    description,
  });
}

/** One of a fixed set of strings. */
export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

/** An integer of at least 1. */
export function PositiveInt(defaultValue: number | undefined, description: string) {
  return Type.Integer({
    minimum: 1,
    description,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  });
}

/** An object that rejects unknown keys, so typos surface as errors. */
export function Strict<T extends Parameters<typeof Type.Object>[0]>(
  properties: T,
  options: SchemaOptions = {},
) {
  return Type.Object(properties, { ...options, additionalProperties: false });
}

/** A union of strict objects told apart by the string property `tag`. */
export function Tagged<T extends TSchema[]>(tag: string, branches: [...T], options: SchemaOptions = {}) {
  return Type.Unsafe<Static<T[number]>>({
    ...options,
    type: 'object',
    oneOf: branches,
    discriminator: { propertyName: tag },
  });
}

/** A non-empty string. */
export function Text(description: string, options: SchemaOptions = {}) {
  return Type.String({ minLength: 1, description, ...options });
}
