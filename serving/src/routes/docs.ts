import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import {
  createJsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { z } from 'zod';

/** The error body every route answers with, for the OpenAPI document's 4xx/5xx answers. */
export const errorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })),
    }),
  })
  .meta({ id: 'Error' });

/** Routes validate with their zod schemas (request) and encode with them (response). */
export function useZodSchemas(app: FastifyInstance): void {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
}

/**
 * The OpenAPI document of every route registered after this plugin, generated from the routes'
 * zod schemas: browsable at /docs, the JSON at /docs/json. Register it on the root app before any
 * route, so that it sees them all (ingest's too).
 */
export const openApiDocs = fp(
  async (app) => {
    useZodSchemas(app);
    await app.register(swagger, {
      openapi: {
        info: {
          title: 'Sightline',
          description:
            'Web analytics: ingest events, read metrics. Readers send `Authorization: Bearer <key>` ' +
            '(a key from POST /v1/admin/keys); admin endpoints take the ADMIN_TOKEN. Errors are ' +
            '`{"error": {"code", "message", "details": [{"path", "message"}]}}`.',
          version: '1',
        },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      },
      transform: createJsonSchemaTransform({ skipList: [] }),
      transformObject: jsonSchemaTransformObject,
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  },
  { name: 'sightline-openapi' },
);
