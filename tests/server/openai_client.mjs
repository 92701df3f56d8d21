// openai_client.mjs — the official `openai` npm client against `pagedvk serve`.
// usage: node openai_client.mjs BASE_URL MODEL API_KEY
// Completions and chat completions with and without streaming (streamed text equals the
// non-streamed greedy text), models.list, and errors surfacing as the client's error classes
// (404 unknown model, 400 bad parameter, 401 wrong key). Exits 0 on success, 1 with a message.
import OpenAI from 'openai';

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

try {
  await completions();
  await chat();
  await models();
  await errors();
  console.log('openai client: ok');
} catch (e) {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
}
