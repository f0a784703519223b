import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { strictValidatorCompiler } from './strict-validator.js';

/**
 * Signed documents are kept exactly as received: in the scope this is called on, a JSON body
 * reaches the handler as its text, and the module that owns the route parses and verifies it in
 * protocol order. (Content-type parsers are encapsulated: each /federation/v1 plugin calls it.)
 */
export function keepJsonBodiesAsText(app: FastifyInstance, bodyLimit: number): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_request, body, done) => done(null, body));
}

/**
 * The body of a signed or sealed document is validated by the route's module itself, in protocol
 * order, on the text as received; its schema is there for the OpenAPI document only.
 */
export const documentedBodyOnly: FastifySchemaCompiler<unknown> = (route) =>
  route.httpPart === 'body' ? () => true : (strictValidatorCompiler as FastifySchemaCompiler<unknown>)(route);
