// judge.mjs: the official SDKs judge what the proxy makes of every route.
//
// For every (client format × provider format) route the official SDK of the
// client format (@anthropic-ai/sdk, openai) talks to Understudy, which serves
// the request from a fake provider of the other format. Each check asserts
// that the SDK parses everything and that what it assembled equals what the
// fake provider really sent for that very request: text, tool calls (ids,
// names, parsed arguments), the stop reason in the client's vocabulary and
// the usage numbers.
//
// Layout of the run:
//   fakes   one us-fake-provider per (provider format × step), each behind a
//           small recording tap (a pass-through HTTP server in this process)
//           so the judge sees the exact request the proxy sent and the exact
//           bytes the fake answered;
//   proxy   one `understudy --headless` whose rules send model "via-F-S" to
//           the fake of format F playing step S;
//   clients one Anthropic and one OpenAI client whose fetch records the
//           proxy's own bytes, printed as evidence when a check fails.
//
// Cases: text, tool (one call), tools2 (two parallel calls), tool-result (a
// turn carrying a tool call and its result: the provider must receive both,
// translated, with ids kept; the fake quotes the result back), error (the
// fake answers 400: the SDK raises its own BadRequestError).
//
// Environment: UNDERSTUDY (built src/understudy), US_FAKE_PROVIDER (built
// tests/fake/us-fake-provider), US_TEST_CLIENTS_DIR (tests/clients),
// US_JUDGE_FILTER (optional regular expression on check names).
// Exit status: 0 all passed, 1 a check failed, 77 SDKs not installed (skip).
//
// SPDX-License-Identifier: GPL-3.0-or-later

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const buildDir = path.join(here, '..', '..', 'build');
const clientsDir = process.env.US_TEST_CLIENTS_DIR ?? path.join(here, '..', 'clients');
const understudyBin = process.env.UNDERSTUDY ?? path.join(buildDir, 'src', 'understudy');
const fakeBin = process.env.US_FAKE_PROVIDER ?? path.join(buildDir, 'tests', 'fake', 'us-fake-provider');
const filter = process.env.US_JUDGE_FILTER ? new RegExp(process.env.US_JUDGE_FILTER) : null;
const verbose = Boolean(process.env.US_JUDGE_VERBOSE);

if (!existsSync(path.join(clientsDir, 'node_modules', '@anthropic-ai', 'sdk')) ||
    !existsSync(path.join(clientsDir, 'node_modules', 'openai'))) {
  console.log(`SKIP: SDKs not installed (cd ${clientsDir} && npm ci)`);
  process.exit(77);
}

const require = createRequire(path.join(clientsDir, 'package.json'));
const anthropicModule = require('@anthropic-ai/sdk');
const openaiModule = require('openai');
const Anthropic = anthropicModule.default ?? anthropicModule.Anthropic ?? anthropicModule;
const OpenAI = openaiModule.default ?? openaiModule.OpenAI ?? openaiModule;

// ---------------------------------------------------------------------------
// What the judge sends

// Non-ASCII on purpose: the fakes cut their writes inside multi-byte characters.
const TEXT = 'Judge says: naïve café — ✓ 東京 done.';
const SYSTEM = 'You are judged by the official SDKs.';
const WEATHER = { location: 'Paris', unit: 'celsius' };   // the fakes' first call
const TIME = { timezone: 'Europe/Paris' };                 // their second call

const TOOL_DEFS = [
  { name: 'get_weather', description: 'Current weather for a place.',
    schema: { type: 'object', properties: { location: { type: 'string' },
                                            unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
              required: ['location'] } },
  { name: 'get_time', description: 'Current time in a time zone.',
    schema: { type: 'object', properties: { timezone: { type: 'string' } }, required: ['timezone'] } },
];
const READ_TOOL = { name: 'read_file', description: 'Read a text file.',
                    schema: { type: 'object', properties: { file_path: { type: 'string' } },
                              required: ['file_path'] } };
// The tool-result turn: the assistant asked to read a file, the client ran it.
const TURN = {
  question: 'What does /tmp/judge.txt say?',
  preamble: 'Let me read it.',
  args: { file_path: '/tmp/judge.txt' },
  result: 'Judge file: ünïcode ✓\nsecond line',
  ids: { anthropic: 'toolu_01JudgeReadFile0000000001', chat: 'call_judgeReadFile00000001',
         responses: 'call_judgeReadFile00000002' },
};

// The wire formats: how the proxy config names them and how each says "stop".
const FORMATS = {
  anthropic: { kind: 'anthropic', fake: 'anthropic', model: 'claude-fake', v1: false,
               stop: { end: 'end_turn', tool: 'tool_use' } },
  chat: { kind: 'openai-chat', fake: 'openai-chat', model: 'gpt-fake', v1: true,
          stop: { end: 'stop', tool: 'tool_calls' } },
  responses: { kind: 'openai-responses', fake: 'openai-responses', model: 'gpt-fake', v1: true,
               stop: { end: 'completed', tool: 'completed' } },
};
const FORMAT_NAMES = Object.keys(FORMATS);

// One fake per (provider format × step). The proxy sends model "via-F-S"
// to the fake of format F playing step S.
const STEPS = { text: 'ok', tool: 'tool', tools2: 'tools2', 'tool-result': 'tool-task', error: '400' };

// How each client format is driven: the SDK call for each mode.
const MODES = {
  anthropic: ['stream', 'whole'],
  chat: ['stream', 'helper', 'whole'],
  responses: ['stream', 'whole'],
};

// ---------------------------------------------------------------------------
// Processes

const tmp = mkdtempSync(path.join(os.tmpdir(), 'us-sdk-judge-'));
const children = [];

// Spawns a process and resolves with the first stdout line matching @re.
function spawnAndWait(bin, args, re, what, env = process.env) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const output = [];
  children.push(child);
  child.stderr.on('data', (d) => output.push(String(d)));
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    let found = false;
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (!found)
        reject(new Error(`${what} exited early (${code ?? signal}): ${output.join('')}`));
    });
    lines.on('line', (line) => {
      output.push(line + '\n');
      const m = re.exec(line);
      if (m && !found) {
        found = true;
        resolve({ child, match: m, output });
      }
    });
  });
}

// A recording tap in front of a fake: forwards every request unchanged and
// keeps the request body and the exact response bytes.
const exchanges = [];

function startTap(name, fakePort) {
  const server = http.createServer((req, res) => {
    const body = [];
    req.on('data', (c) => body.push(c));
    req.on('end', () => {
      const ex = { fake: name, method: req.method, path: req.url, request: Buffer.concat(body),
                   status: 0, chunks: [] };
      exchanges.push(ex);
      ex.done = new Promise((resolve) => {
        const headers = { ...req.headers };
        delete headers.connection;
        // A fresh connection each time: no idle keep-alive race with the fake.
        const up = http.request({ host: '127.0.0.1', port: fakePort, method: req.method, path: req.url,
                                  headers, agent: false }, (upRes) => {
          ex.status = upRes.statusCode;
          const h = { ...upRes.headers };
          for (const hop of ['connection', 'keep-alive', 'transfer-encoding'])
            delete h[hop];
          res.writeHead(upRes.statusCode, h);
          upRes.on('data', (c) => { ex.chunks.push(c); res.write(c); });
          upRes.on('end', () => { res.end(); resolve(); });
          upRes.on('error', (e) => { ex.error = String(e); res.destroy(); resolve(); });
        });
        up.on('error', (e) => { ex.error = String(e); res.destroy(); resolve(); });
        up.end(ex.request);
      });
    });
  });
  // The proxy keeps connections to providers alive: never close one under it.
  server.keepAliveTimeout = 0;
  server.requestTimeout = 0;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port })));
}

async function startFake(format, step) {
  const name = `${format}-${step}`;
  const log = path.join(tmp, `${name}.log`);
  const { match } = await spawnAndWait(fakeBin, ['--format', FORMATS[format].fake, '--default', STEPS[step],
                                                  '--text', TEXT, '--log', log],
                                       /^PORT=(\d+)$/, `us-fake-provider ${name}`);
  const tap = await startTap(name, Number(match[1]));
  return { name, format, step, log, tap };
}

async function startProxy(fakes) {
  const token = 'judge-token';
  const config = {
    version: 1,
    listen: { host: '127.0.0.1', port: 0, token },
    providers: fakes.map((f) => ({
      id: f.name, kind: FORMATS[f.format].kind, auth: 'none',
      base_url: `http://127.0.0.1:${f.tap.port}${FORMATS[f.format].v1 ? '/v1' : ''}`,
    })),
    chains: fakes.map((f) => ({ id: f.name, models: [{ provider: f.name, model: FORMATS[f.format].model }] })),
    rules: fakes.map((f) => ({ when: { model: `via-${f.name}` }, chain: f.name })),
    failover: { first_byte_timeout_s: 20, idle_timeout_s: 20, cooldown_s: 1 },
  };
  const file = path.join(tmp, 'config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  const env = { ...process.env, HOME: tmp, XDG_CONFIG_HOME: path.join(tmp, 'config'),
                XDG_DATA_HOME: path.join(tmp, 'data'), XDG_STATE_HOME: path.join(tmp, 'state'),
                XDG_CACHE_HOME: path.join(tmp, 'cache') };
  const { child, match, output } = await spawnAndWait(understudyBin, ['--headless', '--config', file],
                                                      /listening on http:\/\/127\.0\.0\.1:(\d+)/, 'understudy', env);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { base: `http://127.0.0.1:${match[1]}/t/${token}`, child, exited, output };
}

// ---------------------------------------------------------------------------
// Clients, with a fetch that keeps what the proxy answered

const proxyCalls = [];
let proxyBase = null;

async function recordingFetch(url, init) {
  const call = { url: String(url), request: typeof init?.body === 'string' ? init.body : '', status: 0,
                 headers: {}, body: Buffer.alloc(0) };
  proxyCalls.push(call);
  const res = await fetch(url, init);
  call.status = res.status;
  call.headers = Object.fromEntries(res.headers);
  call.done = res.clone().arrayBuffer().then((b) => { call.body = Buffer.from(b); },
                                              (e) => { call.error = String(e); });
  return res;
}

function makeClients(base) {
  const options = { apiKey: 'sk-judge', maxRetries: 0, timeout: 20000, fetch: recordingFetch };
  return {
    anthropic: new Anthropic({ ...options, baseURL: base }),
    openai: new OpenAI({ ...options, baseURL: `${base}/v1` }),
  };
}

// ---------------------------------------------------------------------------
// Wire parsing: what the fake sent, as a format-neutral answer
//   { id, text, calls: [{ id, itemId, name, args }], stop: 'end'|'tool'|…, usage: { input, output } | null }

function sseEvents(bytes) {
  const events = [];
  for (const block of bytes.toString('utf8').split(/\r?\n\r?\n/)) {
    let event = null;
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length === 0) continue;
    const text = data.join('\n');
    events.push({ event, data: text === '[DONE]' ? '[DONE]' : JSON.parse(text) });
  }
  return events;
}

function neutralStop(stop) {
  return { end_turn: 'end', stop: 'end', tool_use: 'tool', tool_calls: 'tool',
           max_tokens: 'length', length: 'length' }[stop] ?? stop;
}

function fromAnthropicMessage(m) {
  return {
    id: m.id,
    text: m.content.filter((b) => b.type === 'text').map((b) => b.text).join(''),
    calls: m.content.filter((b) => b.type === 'tool_use').map((b) => ({ id: b.id, name: b.name, args: b.input })),
    stop: neutralStop(m.stop_reason),
    rawStop: m.stop_reason,
    usage: m.usage ? { input: m.usage.input_tokens, output: m.usage.output_tokens } : null,
  };
}

function fromChatCompletion(c) {
  const message = c.choices[0].message;
  return {
    id: c.id,
    text: message.content ?? '',
    calls: (message.tool_calls ?? []).map((tc) => ({ id: tc.id, name: tc.function.name,
                                                      args: JSON.parse(tc.function.arguments) })),
    stop: neutralStop(c.choices[0].finish_reason),
    rawStop: c.choices[0].finish_reason,
    usage: c.usage ? { input: c.usage.prompt_tokens, output: c.usage.completion_tokens } : null,
  };
}

function fromResponse(r) {
  const calls = r.output.filter((i) => i.type === 'function_call');
  return {
    id: r.id,
    itemIds: r.output.map((i) => i.id),
    text: r.output.filter((i) => i.type === 'message')
      .flatMap((i) => i.content).filter((p) => p.type === 'output_text').map((p) => p.text).join(''),
    calls: calls.map((i) => ({ id: i.call_id, itemId: i.id, name: i.name, args: JSON.parse(i.arguments) })),
    stop: r.status === 'completed' ? (calls.length > 0 ? 'tool' : 'end') : r.status,
    rawStop: r.status,
    usage: r.usage ? { input: r.usage.input_tokens, output: r.usage.output_tokens } : null,
  };
}

// Assembles a raw stream the simple way, independent of the SDKs' helpers.
function assembleAnthropic(events) {
  const m = { id: null, content: [], stop_reason: null, usage: null };
  for (const { data: e } of events) {
    if (e.type === 'message_start') {
      m.id = e.message.id;
      m.usage = { ...e.message.usage };
    } else if (e.type === 'content_block_start') {
      m.content[e.index] = { ...e.content_block, json: '' };
      if (e.content_block.type === 'text') m.content[e.index].text = e.content_block.text ?? '';
    } else if (e.type === 'content_block_delta') {
      if (e.delta.type === 'text_delta') m.content[e.index].text += e.delta.text;
      if (e.delta.type === 'input_json_delta') m.content[e.index].json += e.delta.partial_json;
    } else if (e.type === 'message_delta') {
      m.stop_reason = e.delta.stop_reason;
      Object.assign(m.usage, e.usage ?? {});
    }
  }
  for (const b of m.content)
    if (b.type === 'tool_use') b.input = b.json ? JSON.parse(b.json) : {};
  return fromAnthropicMessage(m);
}

function assembleChat(chunks) {
  const c = { id: null, choices: [{ message: { content: null, tool_calls: [] }, finish_reason: null }], usage: null };
  const message = c.choices[0].message;
  for (const chunk of chunks) {
    c.id ??= chunk.id;
    if (chunk.usage) c.usage = chunk.usage;
    for (const choice of chunk.choices ?? []) {
      if (choice.delta?.content) message.content = (message.content ?? '') + choice.delta.content;
      for (const tc of choice.delta?.tool_calls ?? []) {
        message.tool_calls[tc.index] ??= { id: '', function: { name: '', arguments: '' } };
        const call = message.tool_calls[tc.index];
        if (tc.id) call.id = tc.id;
        if (tc.function?.name) call.function.name += tc.function.name;
        call.function.arguments += tc.function?.arguments ?? '';
      }
      if (choice.finish_reason) c.choices[0].finish_reason = choice.finish_reason;
    }
  }
  return fromChatCompletion(c);
}

function parseProviderAnswer(format, stream, bytes) {
  if (!stream) {
    const body = JSON.parse(bytes.toString('utf8'));
    return format === 'anthropic' ? fromAnthropicMessage(body)
      : format === 'chat' ? fromChatCompletion(body) : fromResponse(body);
  }
  const events = sseEvents(bytes);
  if (format === 'anthropic') return assembleAnthropic(events);
  if (format === 'chat') return assembleChat(events.filter((e) => e.data !== '[DONE]').map((e) => e.data));
  const completed = events.find((e) => e.data.type === 'response.completed');
  assert.ok(completed, 'the fake sent no response.completed');
  return fromResponse(completed.data.response);
}

// ---------------------------------------------------------------------------
// Requests in each client's own format

function clientTools(client, defs) {
  if (client === 'anthropic')
    return defs.map((d) => ({ name: d.name, description: d.description, input_schema: d.schema }));
  if (client === 'chat')
    return defs.map((d) => ({ type: 'function', function: { name: d.name, description: d.description,
                                                             parameters: d.schema } }));
  return defs.map((d) => ({ type: 'function', name: d.name, description: d.description, parameters: d.schema,
                            strict: false }));
}

function request(client, model, kase) {
  const tools = kase === 'tool-result' ? [READ_TOOL] : kase.startsWith('tool') ? TOOL_DEFS : null;
  const withTools = (p) => (tools ? { ...p, tools: clientTools(client, tools) } : p);
  if (kase === 'tool-result') return withTools(toolResultTurn(client, model));
  if (client === 'anthropic')
    return withTools({ model, max_tokens: 256, system: SYSTEM, messages: [{ role: 'user', content: 'hi' }] });
  if (client === 'chat')
    return withTools({ model, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'hi' }] });
  return withTools({ model, instructions: SYSTEM, input: 'hi', store: false });
}

function toolResultTurn(client, model) {
  const id = TURN.ids[client];
  if (client === 'anthropic')
    return { model, max_tokens: 256, system: SYSTEM, messages: [
      { role: 'user', content: TURN.question },
      { role: 'assistant', content: [{ type: 'text', text: TURN.preamble },
                                     { type: 'tool_use', id, name: READ_TOOL.name, input: TURN.args }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: TURN.result }] },
    ] };
  if (client === 'chat')
    return { model, messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: TURN.question },
      { role: 'assistant', content: TURN.preamble,
        tool_calls: [{ id, type: 'function', function: { name: READ_TOOL.name, arguments: JSON.stringify(TURN.args) } }] },
      { role: 'tool', tool_call_id: id, content: TURN.result },
    ] };
  return { model, instructions: SYSTEM, store: false, input: [
    { type: 'message', role: 'user', content: TURN.question },
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: TURN.preamble, annotations: [] }] },
    { type: 'function_call', call_id: id, name: READ_TOOL.name, arguments: JSON.stringify(TURN.args) },
    { type: 'function_call_output', call_id: id, output: TURN.result },
  ] };
}

// ---------------------------------------------------------------------------
// Driving each SDK; every driver returns the neutral answer the SDK assembled

const drivers = {
  anthropic: {
    async stream(sdk, params) {
      const stream = sdk.anthropic.messages.stream(params);
      let deltas = '';
      stream.on('text', (t) => { deltas += t; });
      const message = await stream.finalMessage();
      const answer = fromAnthropicMessage(message);
      assert.equal(deltas, answer.text, 'text events differ from the final message text');
      assert.equal(message.type, 'message');
      assert.equal(message.role, 'assistant');
      return answer;
    },
    async whole(sdk, params) {
      const message = await sdk.anthropic.messages.create(params);
      assert.equal(message.type, 'message');
      return fromAnthropicMessage(message);
    },
  },
  chat: {
    // Raw chunks from create({stream:true}), assembled by hand.
    async stream(sdk, params) {
      const stream = await sdk.openai.chat.completions.create({ ...params, stream: true,
                                                                stream_options: { include_usage: true } });
      const chunks = [];
      for await (const chunk of stream) {
        assert.equal(chunk.object, 'chat.completion.chunk', `chunk ${chunks.length}: object`);
        if (chunks.length > 0) assert.equal(chunk.id, chunks[0].id, `chunk ${chunks.length}: id changed`);
        if (chunk.usage) assert.equal(chunk.choices.length, 0, 'the usage chunk must have empty choices');
        for (const choice of chunk.choices)
          for (const tc of choice.delta?.tool_calls ?? []) {
            const first = !chunks.some((c) => c.choices.some((ch) => ch.delta?.tool_calls?.some((t) => t.index === tc.index)));
            if (first) assert.ok(tc.id && tc.function?.name, `first delta of tool call ${tc.index} lacks id or name`);
          }
        chunks.push(chunk);
      }
      const answer = assembleChat(chunks);
      assert.ok(answer.usage, 'no usage chunk although stream_options.include_usage was set');
      return answer;
    },
    // The SDK's own stream helper.
    async helper(sdk, params) {
      const stream = sdk.openai.chat.completions.stream(params);
      let deltas = '';
      stream.on('content', (d) => { deltas += d; });
      const completion = await stream.finalChatCompletion();
      const answer = fromChatCompletion(completion);
      assert.equal(deltas, answer.text, 'content events differ from the final content');
      return { ...answer, usage: undefined };   // not asked for: not judged
    },
    async whole(sdk, params) {
      const completion = await sdk.openai.chat.completions.create(params);
      assert.equal(completion.object, 'chat.completion');
      return fromChatCompletion(completion);
    },
  },
  responses: {
    async stream(sdk, params) {
      const stream = sdk.openai.responses.stream(params);
      let deltas = '';
      const types = [];
      stream.on('response.output_text.delta', (e) => { deltas += e.delta; });
      const numbers = [];
      stream.on('event', (e) => { types.push(e.type); numbers.push(e.sequence_number); });
      const argDeltas = {};
      const doneItems = [];
      stream.on('response.function_call_arguments.delta', (e) => { argDeltas[e.item_id] = (argDeltas[e.item_id] ?? '') + e.delta; });
      stream.on('response.output_item.done', (e) => { doneItems[e.output_index] = e.item; });
      const response = await stream.finalResponse();
      numbers.forEach((n, i) => assert.equal(n, i, `event ${i} (${types[i]}): sequence_number`));
      assert.equal(types[0], 'response.created', 'first event');
      assert.equal(types.at(-1), 'response.completed', 'last event');
      const answer = fromResponse(response);
      assert.equal(deltas, answer.text, 'output_text deltas differ from the final text');
      assert.equal(response.output_text, answer.text, 'output_text');
      // Codex takes finished items from output_item.done: they must be the
      // ones response.completed lists, and the argument deltas must add up.
      assert.deepEqual(doneItems.map(itemEssence), response.output.map(itemEssence),
                       'output_item.done items differ from response.completed output');
      for (const item of response.output.filter((i) => i.type === 'function_call'))
        assert.equal(argDeltas[item.id] ?? '', item.arguments, `argument deltas of ${item.id}`);
      return answer;
    },
    async whole(sdk, params) {
      const response = await sdk.openai.responses.create(params);
      assert.equal(response.object, 'response');
      return fromResponse(response);
    },
  },
};

function itemEssence(item) {
  if (item?.type === 'function_call')
    return { type: item.type, id: item.id, call_id: item.call_id, name: item.name, arguments: item.arguments };
  if (item?.type === 'message')
    return { type: item.type, id: item.id, role: item.role,
             text: item.content.map((p) => p.text ?? p.refusal ?? '').join('') };
  return { type: item?.type, id: item?.id };
}

// What the SDKs let pass but the clients behind them rely on: the raw
// stream the proxy wrote, in the client's own format.
function assertStreamWire(client, bytes) {
  const events = sseEvents(bytes);
  assert.ok(events.length > 0, 'empty stream');
  if (client === 'anthropic') {
    // Claude Code dispatches on the event: line.
    events.forEach((e, i) => assert.equal(e.event, e.data.type, `event ${i}: event: line vs data.type`));
    assert.equal(events[0].data.type, 'message_start', 'first event');
    assert.equal(events.at(-1).data.type, 'message_stop', 'last event');
    const open = new Set();
    let next = 0;
    for (const { data: e } of events) {
      if (e.type === 'content_block_start') {
        assert.equal(e.index, next++, 'content block indices must count up from 0');
        open.add(e.index);
      } else if (e.type === 'content_block_delta') {
        assert.ok(open.has(e.index), `delta for block ${e.index} which is not open`);
      } else if (e.type === 'content_block_stop') {
        assert.ok(open.delete(e.index), `stop for block ${e.index} which is not open`);
      } else if (e.type === 'message_delta') {
        assert.equal(open.size, 0, 'message_delta while a block is open');
        assert.ok(Number.isInteger(e.usage?.output_tokens), 'message_delta.usage.output_tokens');
      }
    }
  } else if (client === 'chat') {
    assert.equal(events.at(-1).data, '[DONE]', 'a chat stream ends with data: [DONE]');
    assert.equal(events.filter((e) => e.data === '[DONE]').length, 1, 'one [DONE]');
  } else {
    events.forEach((e, i) => {
      if (e.event !== null) assert.equal(e.event, e.data.type, `event ${i}: event: line vs data.type`);
    });
  }
}

// ---------------------------------------------------------------------------
// Checks

let passed = 0;
const failures = [];

function clip(text, max = 4000) {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more)` : text;
}

// Evidence must not hang the run when a connection never ends.
function settle(promise, ms = 3000) {
  return Promise.race([promise, new Promise((resolve) => setTimeout(resolve, ms))]);
}

function indent(text) {
  return text.replace(/^/gm, '    # ');
}

async function check(name, fn) {
  if (filter && !filter.test(name)) return;
  const proxyMark = proxyCalls.length;
  const tapMark = exchanges.length;
  let err = null;
  try {
    await fn();
    passed++;
    console.log(`ok ${name}`);
  } catch (e) {
    err = e;
    const reason = String(err?.message ?? err).split('\n')[0];
    failures.push({ name, reason });
    console.log(`FAIL ${name}: ${reason}`);
  }
  if (err || verbose) {
    const lines = err ? [String(err?.stack ?? err)] : [];
    for (const call of proxyCalls.slice(proxyMark)) {
      await settle(call.done);
      lines.push(`client → proxy: POST ${call.url.replace(/\/t\/[^/]+/, '/t/…')}`, `  ${clip(call.request, 1500)}`,
                 `proxy → client: HTTP ${call.status} x-understudy-model=${call.headers['x-understudy-model']}` +
                 ` content-type=${call.headers['content-type']}`, clip(call.body.toString('utf8')));
    }
    for (const ex of exchanges.slice(tapMark)) {
      await settle(ex.done);
      lines.push(`proxy → fake ${ex.fake}: ${ex.method} ${ex.path}`, `  ${clip(ex.request.toString('utf8'), 1500)}`,
                 `fake → proxy: HTTP ${ex.status}${ex.error ? ` (${ex.error})` : ''}`,
                 clip(Buffer.concat(ex.chunks).toString('utf8')));
    }
    console.log(indent(lines.join('\n')));
  }
}

// The one exchange the proxy had with a fake during this check.
async function fakeExchange(tapMark, fake) {
  const mine = exchanges.slice(tapMark);
  assert.equal(mine.length, 1, `expected one upstream request, saw ${mine.map((e) => e.fake).join(', ') || 'none'}`);
  await mine[0].done;
  assert.equal(mine[0].fake, fake.name, 'the request reached the wrong fake');
  return mine[0];
}

function lastProxyCall(proxyMark) {
  const mine = proxyCalls.slice(proxyMark);
  assert.equal(mine.length, 1, `the SDK made ${mine.length} HTTP calls`);
  return mine[0];
}

// The SDK's answer must equal what the fake sent, in the client's terms.
function assertSameAnswer(got, sent, client, provider) {
  assert.equal(got.text ?? '', sent.text ?? '', 'text');
  assert.deepEqual(got.calls.map((c) => c.name), sent.calls.map((c) => c.name), 'tool names');
  got.calls.forEach((c, i) => {
    assert.deepEqual(c.args, sent.calls[i].args, `tool call ${i} arguments`);
    assert.equal(c.id, sent.calls[i].id, `tool call ${i} id (ids are kept end to end)`);
  });
  assert.equal(got.stop, sent.stop, `stop: the SDK saw "${got.rawStop}" where the fake sent "${sent.rawStop}"` +
               ` (expected "${FORMATS[client].stop[sent.stop] ?? sent.stop}")`);
  if (got.usage !== undefined) {
    assert.ok(sent.usage, `the ${provider} fake sent no usage (the proxy did not ask for it)`);
    assert.ok(got.usage && Number.isInteger(got.usage.input) && Number.isInteger(got.usage.output),
              `usage numbers missing: ${JSON.stringify(got.usage)}`);
    assert.deepEqual(got.usage, sent.usage, 'usage (input, output)');
  }
  if (client === provider) {
    // Pass-through: the provider's own ids reach the client.
    assert.equal(got.id, sent.id, 'response id (pass-through)');
    if (client === 'responses') assert.deepEqual(got.itemIds, sent.itemIds, 'output item ids (pass-through)');
  }
}

// The proxy's request log entry for the newest request for @model.
async function logEntry(model) {
  const res = await fetch(`${proxyBase}/understudy/status`);
  assert.equal(res.status, 200, 'GET /understudy/status');
  const entries = (await res.json()).requests.filter((e) => e.requested_model === model);
  assert.ok(entries.length > 0, `no request log entry for ${model}`);
  return entries.reduce((a, b) => (b.id > a.id ? b : a));
}

function routeName(client, provider) {
  return `${client}→${provider}`;
}

async function answerCheck(sdk, fakes, client, provider, mode, kase) {
  const fake = fakes[`${provider}-${kase}`];
  await check(`${routeName(client, provider)} ${mode} ${kase}`, async () => {
    const proxyMark = proxyCalls.length;
    const tapMark = exchanges.length;
    const got = await drivers[client][mode](sdk, request(client, `via-${fake.name}`, kase));
    const call = lastProxyCall(proxyMark);
    assert.equal(call.headers['x-understudy-model'], `${fake.name}/${FORMATS[provider].model}`, 'x-understudy-model');
    assert.equal(call.headers['x-understudy-attempts'], '1', 'x-understudy-attempts');
    assert.match(call.headers['content-type'] ?? '', mode === 'whole' ? /^application\/json/ : /^text\/event-stream/,
                 'content-type');
    await call.done;
    if (mode !== 'whole') assertStreamWire(client, call.body);
    const ex = await fakeExchange(tapMark, fake);
    assert.equal(ex.status, 200, 'the fake answered an error');
    const streamed = JSON.parse(ex.request.toString('utf8')).stream === true;
    assert.equal(streamed, mode !== 'whole', `the proxy asked the provider for ${streamed ? 'a stream' : 'a whole answer'}`);
    const sent = parseProviderAnswer(provider, streamed, Buffer.concat(ex.chunks));
    const expected = { text: { calls: 0 }, tool: { calls: 1 }, tools2: { calls: 2 }, 'tool-result': { calls: 0 } }[kase];
    assert.equal(sent.calls.length, expected.calls, 'the fake did not play its step (judge bug?)');
    assertSameAnswer(got, sent, client, provider);
    const entry = await logEntry(`via-${fake.name}`);
    assert.deepEqual([entry.status, entry.served_provider, entry.served_model, entry.attempts.length],
                     [200, fake.name, FORMATS[provider].model, 1], 'request log: status, served, attempts');
    if (sent.usage)
      assert.deepEqual([entry.input_tokens, entry.output_tokens], [sent.usage.input, sent.usage.output],
                       'request log: tokens in/out');
    if (kase === 'tool-result') {
      assert.equal(got.text, `The file says: ${TURN.result}`, 'the fake did not see the tool result');
      assertToolTurnReceived(provider, client, JSON.parse(ex.request.toString('utf8')));
      const log = readFileSync(fake.log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).at(-1);
      assert.equal(log.summary.tool_result, true, `fake log: ${JSON.stringify(log.summary)}`);
      assert.deepEqual(log.summary.tools, [READ_TOOL.name], 'fake log: tools');
    }
  });
}

function textOf(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => p.text ?? '').join('');
  return '';
}

// The provider received the tool call and its result, translated, ids kept.
function assertToolTurnReceived(provider, client, body) {
  const id = TURN.ids[client];
  const json = JSON.stringify(body);
  assert.ok(json.includes(JSON.stringify(SYSTEM)), 'the system prompt did not reach the provider');
  assert.ok(json.includes(JSON.stringify(TURN.preamble)), 'the assistant preamble did not reach the provider');
  if (provider === 'anthropic') {
    const tool = body.tools?.find((t) => t.name === READ_TOOL.name);
    assert.deepEqual(tool?.input_schema, READ_TOOL.schema, 'tools[].input_schema');
    const blocks = body.messages.flatMap((m) => (Array.isArray(m.content) ? m.content.map((b) => ({ ...b, role: m.role })) : []));
    const use = blocks.find((b) => b.type === 'tool_use');
    assert.ok(use && use.role === 'assistant', 'no assistant tool_use block');
    assert.deepEqual([use.id, use.name, use.input], [id, READ_TOOL.name, TURN.args], 'tool_use block');
    const result = blocks.find((b) => b.type === 'tool_result');
    assert.ok(result && result.role === 'user', 'no user tool_result block');
    assert.equal(result.tool_use_id, id, 'tool_result.tool_use_id');
    assert.equal(textOf(result.content), TURN.result, 'tool_result.content');
    assert.ok(body.messages.indexOf(body.messages.find((m) => m.role === 'assistant')) === 1, 'message order');
  } else if (provider === 'chat') {
    const tool = body.tools?.find((t) => t.function?.name === READ_TOOL.name);
    assert.equal(tool?.type, 'function', 'tools[].type');
    assert.deepEqual(tool.function.parameters, READ_TOOL.schema, 'tools[].function.parameters');
    const assistant = body.messages.find((m) => m.role === 'assistant' && m.tool_calls);
    assert.ok(assistant, 'no assistant message with tool_calls');
    const tc = assistant.tool_calls[0];
    assert.deepEqual([tc.id, tc.type, tc.function.name, JSON.parse(tc.function.arguments)],
                     [id, 'function', READ_TOOL.name, TURN.args], 'assistant tool_calls[0]');
    const toolMsg = body.messages.find((m) => m.role === 'tool');
    assert.ok(toolMsg, 'no role:tool message');
    assert.equal(toolMsg.tool_call_id, id, 'tool message tool_call_id');
    assert.equal(textOf(toolMsg.content), TURN.result, 'tool message content');
    assert.ok(body.messages.indexOf(toolMsg) > body.messages.indexOf(assistant), 'tool message after the call');
  } else {
    const tool = body.tools?.find((t) => t.name === READ_TOOL.name);
    assert.equal(tool?.type, 'function', 'tools[].type');
    assert.deepEqual(tool.parameters, READ_TOOL.schema, 'tools[].parameters');
    const call = body.input.find((i) => i.type === 'function_call');
    assert.ok(call, 'no function_call input item');
    assert.deepEqual([call.call_id, call.name, JSON.parse(call.arguments)], [id, READ_TOOL.name, TURN.args],
                     'function_call item');
    const output = body.input.find((i) => i.type === 'function_call_output');
    assert.ok(output, 'no function_call_output input item');
    assert.equal(output.call_id, id, 'function_call_output.call_id');
    assert.equal(textOf(output.output), TURN.result, 'function_call_output.output');
    assert.ok(body.input.indexOf(output) > body.input.indexOf(call), 'output after the call');
  }
}

// A 400 from the (only, first) model reaches the client with its status,
// as the client SDK's own BadRequestError.
async function errorCheck(sdk, fakes, client, provider, mode) {
  const fake = fakes[`${provider}-error`];
  await check(`${routeName(client, provider)} ${mode} error-400`, async () => {
    const tapMark = exchanges.length;
    const klass = client === 'anthropic' ? Anthropic.BadRequestError : OpenAI.BadRequestError;
    let err = null;
    try {
      await drivers[client][mode](sdk, request(client, `via-${fake.name}`, 'text'));
    } catch (e) {
      err = e;
    }
    assert.ok(err, 'the SDK did not raise');
    assert.ok(err instanceof klass, `expected ${klass.name}, got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.status, 400, 'status');
    const ex = await fakeExchange(tapMark, fake);
    assert.equal(ex.status, 400, 'the fake did not answer 400 (judge bug?)');
    const sent = JSON.parse(Buffer.concat(ex.chunks).toString('utf8')).error;
    const entry = await logEntry(`via-${fake.name}`);
    assert.deepEqual([entry.status, entry.attempts.map((a) => a.status)], [400, [400]], 'request log: status, attempts');
    if (client === 'anthropic') {
      assert.equal(err.error?.type, 'error', 'Anthropic envelope type');
      assert.equal(err.error?.error?.type, 'invalid_request_error', 'error.type');
      assert.equal(err.error?.error?.message, sent.message, 'error.message');
    } else {
      assert.equal(err.type, 'invalid_request_error', 'error.type');
      assert.equal(err.error?.message, sent.message, 'error.message');
    }
  });
}

// ---------------------------------------------------------------------------

async function main() {
  const fakes = {};
  for (const format of FORMAT_NAMES)
    for (const step of Object.keys(STEPS)) {
      const fake = await startFake(format, step);
      fakes[fake.name] = fake;
    }
  const proxy = await startProxy(Object.values(fakes));
  proxyBase = proxy.base;
  const sdk = makeClients(proxy.base);

  for (const client of FORMAT_NAMES)
    for (const provider of FORMAT_NAMES)
      for (const mode of MODES[client])
        for (const kase of ['text', 'tool', 'tools2', 'tool-result'])
          await answerCheck(sdk, fakes, client, provider, mode, kase);

  for (const client of FORMAT_NAMES)
    for (const provider of FORMAT_NAMES)
      for (const mode of MODES[client])
        await errorCheck(sdk, fakes, client, provider, mode);

  await check('understudy survived every route and exits cleanly on SIGTERM', async () => {
    assert.equal(proxy.child.exitCode, null, `understudy died during the run: ${proxy.output.join('').slice(-2000)}`);
    proxy.child.kill('SIGTERM');
    const timer = setTimeout(() => proxy.child.kill('SIGKILL'), 10000);
    const { code, signal } = await proxy.exited;
    clearTimeout(timer);
    assert.equal(code, 0, `understudy exit (signal ${signal}): ${proxy.output.join('').slice(-2000)}`);
  });
}

let harnessError = null;
try {
  await main();
} catch (err) {
  harnessError = err;
  console.log(`FAIL harness: ${err?.stack ?? err}`);
}
for (const child of children)
  if (child.exitCode === null) child.kill('SIGTERM');
rmSync(tmp, { recursive: true, force: true });

console.log(`\n${passed} passed, ${failures.length} failed`);
if (failures.length > 0) {
  console.log('Failures:');
  for (const f of failures) console.log(`  ${f.name}: ${f.reason}`);
}
process.exit(failures.length > 0 || harnessError ? 1 : 0);
