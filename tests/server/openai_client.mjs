// openai_client.mjs — the official `openai` npm client against `pagedvk serve`.
// usage: node openai_client.mjs BASE_URL MODEL API_KEY
// Completions and chat completions with and without streaming (streamed text equals the
// non-streamed greedy text), models.list, and errors surfacing as the client's error classes
// (404 unknown model, 400 bad parameter, 401 wrong key); structured outputs: response_format
// json_schema through chat.completions.create (streamed too), beta.chat.completions.parse (with a
// plain json_schema, and with a parseable response format as zodResponseFormat builds one) and
// beta.chat.completions.stream, an invalid schema as a 400 naming response_format; tool calls
// (toolCalls: forced calls, streamed deltas assembled by hand and by the client's stream helper,
// the answer sent back as a turn).
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

// ---- tool calls (docs/TOOLS.md): forced calls on the test model, whose template (the built-in
// llama2) has no call syntax, so the generic {"name", "arguments"} form; the client's own types
// and its stream helper (beta.chat.completions.stream assembles the deltas) read them unchanged.
const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: {
      type: 'object',
      properties: { location: { type: 'string', maxLength: 5 }, unit: { enum: ['celsius', 'fahrenheit'] } },
      required: ['location', 'unit'],
      additionalProperties: false,
    },
  },
};
const notesTool = {
  type: 'function',
  function: { name: 'search_notes', parameters: { type: 'object', properties: { q: { type: 'string', maxLength: 4 } }, required: ['q'] } },
};

function checkWeatherCall(m, what) {
  check(m.role === 'assistant' && m.content === null, `${what}: content ${JSON.stringify(m.content)}`);
  check(Array.isArray(m.tool_calls) && m.tool_calls.length === 1, `${what}: tool_calls ${JSON.stringify(m.tool_calls)}`);
  const c = m.tool_calls[0];
  check(c.id.startsWith('call_') && c.type === 'function' && c.function.name === 'get_weather', `${what}: call ${JSON.stringify(c)}`);
  const args = JSON.parse(c.function.arguments);
  check(typeof args.location === 'string' && args.location.length <= 5, `${what}: location ${args.location}`);
  check(['celsius', 'fahrenheit'].includes(args.unit), `${what}: unit ${args.unit}`);
  check(Object.keys(args).length === 2, `${what}: arguments ${c.function.arguments}`);
}

async function toolCalls() {
  const req = {
    model, temperature: 0, max_tokens: 300,
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
    tools: [weatherTool, notesTool],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    parallel_tool_calls: false,
  };
  const r = await client.chat.completions.create(req);
  check(r.choices[0].finish_reason === 'tool_calls', `finish_reason ${r.choices[0].finish_reason}`);
  checkWeatherCall(r.choices[0].message, 'tool call');
  // streaming, the deltas assembled by hand: index, then id/type/name in the first, arguments after
  const stream = await client.chat.completions.create({ ...req, stream: true });
  const calls = [];
  let finish = null, content = '';
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      if (c.delta.content) content += c.delta.content;
      for (const tc of c.delta.tool_calls || []) {
        if (!calls[tc.index]) {
          check(tc.id && tc.type === 'function' && tc.function.name, `first delta of call ${tc.index}: ${JSON.stringify(tc)}`);
          calls[tc.index] = { id: tc.id, type: tc.type, function: { name: tc.function.name, arguments: '' } };
        }
        calls[tc.index].function.arguments += tc.function.arguments || '';
      }
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  check(finish === 'tool_calls', `streamed finish ${finish}`);
  checkWeatherCall({ role: 'assistant', content: content || null, tool_calls: calls }, 'streamed tool call');
  check(calls[0].function.arguments === r.choices[0].message.tool_calls[0].function.arguments,
    `streamed arguments ${calls[0].function.arguments} != ${r.choices[0].message.tool_calls[0].function.arguments}`);
  // the client's stream helper assembles the same message
  const helper = client.beta.chat.completions.stream({ ...req, tool_choice: 'required' });
  const final = await helper.finalChatCompletion();
  check(final.choices[0].finish_reason === 'tool_calls', `helper finish ${final.choices[0].finish_reason}`);
  const hm = final.choices[0].message;
  check(hm.tool_calls.length === 1 && ['get_weather', 'search_notes'].includes(hm.tool_calls[0].function.name),
    `helper calls ${JSON.stringify(hm.tool_calls)}`);
  JSON.parse(hm.tool_calls[0].function.arguments);
  // the answer (with its tool_calls) goes back as a turn of the next request (the llama2
  // template takes no tool turns: test_tool_calls.sh sends the tool's result with another)
  const next = await client.chat.completions.create({
    model, temperature: 0, max_tokens: 2, tools: [weatherTool], tool_choice: 'none',
    messages: [...req.messages, r.choices[0].message, { role: 'user', content: 'And tomorrow?' }],
  });
  check(typeof next.choices[0].message.content === 'string', 'answer after a tool result');
  const e = await expectStatus(400, () => client.chat.completions.create({
    ...req, tool_choice: { type: 'function', function: { name: 'nope' } },
  }), 'unknown tool_choice');
  check(e.param === 'tool_choice', `param ${e.param}`);
}

try {
  await completions();
  await chat();
  await models();
  await errors();
  await structuredOutputs();
  await toolCalls();
  console.log('openai client: ok');
} catch (e) {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
}
