/**
 * The ceiling for this hardware: a fastify route that parses the same JSON body and answers 202
 * without doing anything. The ingest benchmark runs it in its own process, like the service.
 */
import Fastify from 'fastify';

const app = Fastify({ bodyLimit: 1024 * 1024 });
app.post('/bare', async (_request, reply) => reply.code(202).send({ accepted: 1 }));
const port = Number(process.argv[2] ?? 0);
const url = await app.listen({ port, host: '127.0.0.1' });
process.send?.({ url });
