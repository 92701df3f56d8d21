// openai_client.mjs — the official `openai` npm client against `pagedvk serve`.
// usage: node openai_client.mjs BASE_URL MODEL API_KEY
// Completions and chat completions with and without streaming (streamed text equals the
// non-streamed greedy text), models.list, and errors surfacing as the client's error classes
// (404 unknown model, 400 bad parameter, 401 wrong key); structured outputs: response_format
// json_schema through chat.completions.create (streamed too), beta.chat.completions.parse (with a
// plain json_schema, and with a parseable response format as zodResponseFormat builds one) and
// beta.chat.completions.stream, an invalid schema as a 400 naming response_format.
// Exits 0 on success, 1 with a message.
import OpenAI from 'openai';
import { LengthFinishReasonError } from 'openai/error';
import { makeParseableResponseFormat } from 'openai/lib/parser';

const [baseURL, model, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120000 });

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

async function expectStatus(status, fn, what) {
  try {
    await fn();
  } catch (e) {
    check(e instanceof OpenAI.APIError, `${what}: not an APIError: ${e}`);
    check(e.status === status, `${what}: status ${e.status}, want ${status}`);
    check(typeof e.message === 'string' && e.message.length > 0, `${what}: no message`);
    return e;
  }
  throw new Error(`${what}: no error`);
}

const greedy = { temperature: 0, max_tokens: 6, ignore_eos: true };

async function completions() {
  const r = await client.completions.create({ model, prompt: 'The quick brown fox', ...greedy });
  check(r.object === 'text_completion' && r.id.startsWith('cmpl-'), 'completion envelope');
  check(r.choices.length === 1 && typeof r.choices[0].text === 'string', 'completion choice');
  check(r.choices[0].finish_reason === 'length', `finish_reason ${r.choices[0].finish_reason}`);
  check(r.usage.completion_tokens === 6 && r.usage.total_tokens === r.usage.prompt_tokens + 6, 'completion usage');
  const stream = await client.completions.create({ model, prompt: 'The quick brown fox', ...greedy, stream: true });
  let text = '', finish = null, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    for (const c of chunk.choices) {
      text += c.text;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  check(chunks >= 2, `only ${chunks} chunks`);
  check(text === r.choices[0].text, `streamed '${text}' != '${r.choices[0].text}'`);
  check(finish === 'length', `streamed finish ${finish}`);
}

async function chat() {
  const messages = [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Say something.' },
  ];
  const r = await client.chat.completions.create({ model, messages, ...greedy });
  check(r.object === 'chat.completion' && r.id.startsWith('chatcmpl-'), 'chat envelope');
  const m = r.choices[0].message;
  check(m.role === 'assistant' && typeof m.content === 'string', 'chat message');
  check(r.usage.completion_tokens === 6, 'chat usage');
  const stream = await client.chat.completions.create({
    model, messages, ...greedy, stream: true, stream_options: { include_usage: true },
  });
  let text = '', role = null, usage = null;
  for await (const chunk of stream) {
    check(chunk.object === 'chat.completion.chunk', 'chat chunk object');
    for (const c of chunk.choices) {
      if (c.delta.role) role = c.delta.role;
      if (c.delta.content) text += c.delta.content;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  check(role === 'assistant', 'streamed role');
  check(text === m.content, `streamed chat '${text}' != '${m.content}'`);
  check(usage && usage.completion_tokens === 6, 'streamed usage');
}

async function models() {
  const list = await client.models.list();
  const ids = [];
  for await (const m of list) ids.push(m.id);
  check(ids.includes(model), `models: ${ids}`);
}

async function errors() {
  await expectStatus(404, () => client.completions.create({ ...greedy, model: 'no-such-model', prompt: 'hi' }),
    'unknown model');
  const e = await expectStatus(400, () => client.chat.completions.create({
    model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, temperature: 'warm',
  }), 'bad temperature');
  check(e.param === 'temperature', `param ${e.param}`);
  const wrong = new OpenAI({ baseURL, apiKey: apiKey + '-wrong', maxRetries: 0 });
  await expectStatus(401, () => wrong.completions.create({ model, prompt: 'hi', max_tokens: 2 }), 'wrong key');
}

// ---- structured outputs (response_format) ----------------------------------------------------

const itemSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 12 },
    qty: { type: 'integer' },
    tags: { type: 'array', items: { enum: ['a', 'b', 'c'] }, minItems: 1, maxItems: 3 },
  },
  required: ['name', 'qty', 'tags'],
  additionalProperties: false,
};

// What the schema says, checked by hand (the client does not validate).
function checkItem(v, what) {
  check(v && typeof v === 'object' && !Array.isArray(v), `${what}: not an object: ${JSON.stringify(v)}`);
  check(Object.keys(v).sort().join(',') === 'name,qty,tags', `${what}: keys ${Object.keys(v)}`);
  check(typeof v.name === 'string' && [...v.name].length >= 1 && [...v.name].length <= 12, `${what}: name ${v.name}`);
  check(Number.isInteger(v.qty), `${what}: qty ${v.qty}`);
  check(Array.isArray(v.tags) && v.tags.length >= 1 && v.tags.length <= 3 && v.tags.every((t) => 'abc'.includes(t) &&
    t.length === 1), `${what}: tags ${v.tags}`);
}

async function structuredOutputs() {
  const messages = [{ role: 'user', content: 'An item, as JSON.' }];
  const response_format = { type: 'json_schema', json_schema: { name: 'item', schema: itemSchema, strict: true } };
  const params = { model, messages, temperature: 0, max_tokens: 200, response_format };
  const r = await client.chat.completions.create(params);
  check(r.choices[0].finish_reason === 'stop', `structured finish ${r.choices[0].finish_reason}`);
  const content = r.choices[0].message.content;
  checkItem(JSON.parse(content), 'create');
  const stream = await client.chat.completions.create({ ...params, stream: true });
  let text = '';
  for await (const chunk of stream) for (const c of chunk.choices) text += c.delta.content || '';
  check(text === content, `structured streamed '${text}' != '${content}'`);
  // beta.chat.completions.parse: message.parsed from a plain json_schema ...
  const p = await client.beta.chat.completions.parse(params);
  checkItem(p.choices[0].message.parsed, 'parse');
  check(p.choices[0].message.content === content, 'parse content');
  // ... and from a parseable format, the shape zodResponseFormat gives (its parser validates)
  let parserRan = false;
  const parseable = makeParseableResponseFormat(response_format, (c) => {
    parserRan = true;
    const v = JSON.parse(c);
    checkItem(v, 'parseable');
    return { ...v, checked: true };
  });
  const q = await client.beta.chat.completions.parse({ ...params, response_format: parseable });
  check(parserRan && q.choices[0].message.parsed.checked === true, 'parseable format: parser not run');
  // beta.chat.completions.stream: the final completion parsed
  const s = client.beta.chat.completions.stream({ ...params, response_format: parseable });
  const fin = await s.finalChatCompletion();
  check(fin.choices[0].message.parsed.checked === true && fin.choices[0].message.content === content,
    'beta stream final parsed');
  // max_tokens short of the schema: parse refuses with the client's LengthFinishReasonError
  let lengthErr = null;
  try {
    await client.beta.chat.completions.parse({ ...params, max_tokens: 2 });
  } catch (e) {
    lengthErr = e;
  }
  check(lengthErr instanceof LengthFinishReasonError, `cut schema: ${lengthErr}`);
  // an invalid schema: 400 with the position, param response_format
  const e = await expectStatus(400, () => client.chat.completions.create({
    ...params, response_format: { type: 'json_schema', json_schema: { name: 'bad', schema: { type: 'object',
      properties: { a: { type: 'string', pattern: '^x' } } } } },
  }), 'invalid schema');
  check(e.param === 'response_format' && /json schema at \/properties\/a/.test(e.message), `invalid schema: ${e.param} ${e.message}`);
  // json_object
  const o = await client.chat.completions.create({ ...params, response_format: { type: 'json_object' } });
  if (o.choices[0].finish_reason === 'stop') {
    const v = JSON.parse(o.choices[0].message.content);
    check(v && typeof v === 'object' && !Array.isArray(v), 'json_object');
  }
}

try {
  await completions();
  await chat();
  await models();
  await errors();
  await structuredOutputs();
  console.log('openai client: ok');
} catch (e) {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
}
