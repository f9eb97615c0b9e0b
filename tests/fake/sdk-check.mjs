// sdk-check.mjs: the official SDKs must accept what the fake providers send.
//
// Runs us-fake-provider once per wire format with a script of behaviors and
// drives @anthropic-ai/sdk and openai (installed in tests/clients) against it.
// Environment: US_FAKE_PROVIDER (the built binary), US_TEST_CLIENTS_DIR.
// Exit status: 0 all passed, 1 a check failed, 77 SDKs not installed (skip).
//
// SPDX-License-Identifier: GPL-3.0-or-later

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const clientsDir = process.env.US_TEST_CLIENTS_DIR ?? path.join(here, '..', 'clients');
const fakeBin = process.env.US_FAKE_PROVIDER ?? path.join(here, '..', '..', 'build', 'tests', 'fake', 'us-fake-provider');

if (!existsSync(path.join(clientsDir, 'node_modules', '@anthropic-ai', 'sdk')) ||
    !existsSync(path.join(clientsDir, 'node_modules', 'openai'))) {
  console.log(`SKIP: SDKs not installed (cd ${clientsDir} && npm install)`);
  process.exit(77);
}

const require = createRequire(path.join(clientsDir, 'package.json'));
const anthropicModule = require('@anthropic-ai/sdk');
const openaiModule = require('openai');
const Anthropic = anthropicModule.default ?? anthropicModule.Anthropic ?? anthropicModule;
const OpenAI = openaiModule.default ?? openaiModule.OpenAI ?? openaiModule;

// Non-ASCII on purpose: the fake cuts writes inside multi-byte characters.
const TEXT = 'Fidelity check: naïve café — ✓ done.';
const WEATHER = { location: 'Paris', unit: 'celsius' };
const TIME = { timezone: 'Europe/Paris' };

let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok ${passed + failed} - ${name}`);
  } catch (err) {
    failed++;
    console.log(`not ok ${passed + failed} - ${name}`);
    console.log(`  # ${String(err?.stack ?? err).split('\n').join('\n  # ')}`);
  }
}

// Starts the fake and resolves once it printed its port.
function startFake(format, script) {
  const child = spawn(fakeBin, ['--format', format, '--script', script, '--text', TEXT],
                      { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    child.on('error', reject);
    exited.then(({ code }) => reject(new Error(`us-fake-provider exited early (${code})`)));
    lines.once('line', (line) => {
      const port = Number(/^PORT=(\d+)$/.exec(line)?.[1]);
      if (!port) {
        reject(new Error(`unexpected first line: ${line}`));
        return;
      }
      resolve({
        baseURL: `http://127.0.0.1:${port}`,
        async stop() {
          child.kill('SIGTERM');
          const { code, signal } = await exited;
          assert.equal(code, 0, `us-fake-provider exit (signal ${signal})`);
        },
      });
    });
  });
}

async function rejectsWith(promise, klass, what) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof klass, `${what}: expected ${klass.name}, got ${err?.constructor?.name}: ${err?.message}`);
    return err;
  }
  assert.fail(`${what}: did not fail`);
}

async function anthropicChecks() {
  const fake = await startFake('anthropic',
    'ok,tool,ok,429:7,tools2,error-before-content,reset-mid,529');
  const client = new Anthropic({ apiKey: 'sk-test', baseURL: fake.baseURL, maxRetries: 0, timeout: 10000 });
  const params = { model: 'claude-sonnet-5-5', max_tokens: 256, messages: [{ role: 'user', content: 'hi' }] };

  await check('anthropic: messages.stream().finalMessage() text', async () => {
    const stream = client.messages.stream(params);
    let deltas = '';
    stream.on('text', (t) => { deltas += t; });
    const message = await stream.finalMessage();
    assert.equal(message.content[0].type, 'text');
    assert.equal(message.content[0].text, TEXT);
    assert.equal(deltas, TEXT);
    assert.equal(message.stop_reason, 'end_turn');
    assert.match(message.id, /^msg_/);
    assert.equal(message.model, 'claude-sonnet-5-5');
    assert.ok(message.usage.output_tokens > 0 && message.usage.input_tokens > 0);
  });

  await check('anthropic: streamed tool_use parsed into an input object', async () => {
    const message = await client.messages.stream(params).finalMessage();
    const tool = message.content.find((b) => b.type === 'tool_use');
    assert.ok(tool, 'no tool_use block');
    assert.equal(tool.name, 'get_weather');
    assert.deepEqual(tool.input, WEATHER);
    assert.match(tool.id, /^toolu_/);
    assert.equal(message.stop_reason, 'tool_use');
  });

  await check('anthropic: messages.create non-streamed', async () => {
    const { data: message, response } = await client.messages.create(params).withResponse();
    assert.equal(message.content[0].text, TEXT);
    assert.match(response.headers.get('request-id'), /^req_/);
  });

  await check('anthropic: 429 is RateLimitError with retry-after', async () => {
    const err = await rejectsWith(client.messages.create(params), Anthropic.RateLimitError, '429');
    assert.equal(err.status, 429);
    assert.equal(err.headers.get('retry-after'), '7');
    assert.equal(err.error?.error?.type, 'rate_limit_error');
    assert.match(err.requestID ?? '', /^req_/);
  });

  await check('anthropic: two parallel tool_use blocks', async () => {
    const message = await client.messages.stream(params).finalMessage();
    const tools = message.content.filter((b) => b.type === 'tool_use');
    assert.equal(tools.length, 2);
    assert.deepEqual(tools[0].input, WEATHER);
    assert.equal(tools[1].name, 'get_time');
    assert.deepEqual(tools[1].input, TIME);
  });

  await check('anthropic: event: error before content surfaces as an overloaded APIError', async () => {
    const err = await rejectsWith(client.messages.stream(params).finalMessage(), Anthropic.APIError, 'stream error');
    assert.match(JSON.stringify(err.error ?? err.message), /overloaded_error/);
  });

  await check('anthropic: reset mid-stream fails the stream', async () => {
    const stream = client.messages.stream(params);
    let deltas = '';
    stream.on('text', (t) => { deltas += t; });
    await rejectsWith(stream.finalMessage(), Error, 'reset mid-stream');
    assert.ok(deltas.length > 0 && TEXT.startsWith(deltas), `content before the reset: ${deltas}`);
  });

  await check('anthropic: 529 is an overloaded InternalServerError', async () => {
    const err = await rejectsWith(client.messages.create(params), Anthropic.InternalServerError, '529');
    assert.equal(err.status, 529);
    assert.equal(err.error?.error?.type, 'overloaded_error');
  });

  await check('anthropic: count_tokens and models.list', async () => {
    const count = await client.messages.countTokens({ model: params.model, messages: params.messages });
    assert.ok(count.input_tokens > 0);
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    assert.ok(ids.includes('claude-sonnet-5-5'), ids.join(','));
  });

  await fake.stop();
}

async function chatChecks() {
  const fake = await startFake('openai-chat', 'ok,tool,tools2,ok,429:3,ok,error-before-content');
  const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.baseURL}/v1`, maxRetries: 0, timeout: 10000 });
  const params = { model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] };

  await check('chat: streamed text with include_usage', async () => {
    const stream = await client.chat.completions.create({ ...params, stream: true,
                                                          stream_options: { include_usage: true } });
    let text = '';
    let usage = null;
    let finish = null;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      assert.match(chunk.id, /^chatcmpl-/);
      if (chunk.usage) {
        assert.equal(chunk.choices.length, 0, 'usage chunk has empty choices');
        usage = chunk.usage;
      }
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? '';
        finish = choice.finish_reason ?? finish;
      }
    }
    assert.equal(text, TEXT);
    assert.equal(finish, 'stop');
    assert.ok(usage && usage.total_tokens === usage.prompt_tokens + usage.completion_tokens);
  });

  await check('chat: streamed tool call assembled by the stream helper', async () => {
    const completion = await client.chat.completions.stream({ ...params, tools: [{ type: 'function',
      function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }] })
      .finalChatCompletion();
    const calls = completion.choices[0].message.tool_calls;
    assert.equal(calls.length, 1);
    assert.equal(calls[0].function.name, 'get_weather');
    assert.deepEqual(JSON.parse(calls[0].function.arguments), WEATHER);
    assert.match(calls[0].id, /^call_/);
    assert.equal(completion.choices[0].finish_reason, 'tool_calls');
  });

  await check('chat: two parallel tool calls', async () => {
    const stream = await client.chat.completions.create({ ...params, stream: true });
    const calls = [];
    for await (const chunk of stream) {
      for (const tc of chunk.choices[0]?.delta?.tool_calls ?? []) {
        calls[tc.index] ??= { id: '', name: '', args: '' };
        if (tc.id) calls[tc.index].id = tc.id;
        if (tc.function?.name) calls[tc.index].name = tc.function.name;
        calls[tc.index].args += tc.function?.arguments ?? '';
      }
    }
    assert.equal(calls.length, 2);
    assert.deepEqual([calls[0].name, calls[1].name], ['get_weather', 'get_time']);
    assert.deepEqual(JSON.parse(calls[0].args), WEATHER);
    assert.deepEqual(JSON.parse(calls[1].args), TIME);
    assert.notEqual(calls[0].id, calls[1].id);
  });

  await check('chat: non-streamed create', async () => {
    const completion = await client.chat.completions.create(params);
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.choices[0].message.content, TEXT);
    assert.equal(completion.choices[0].finish_reason, 'stop');
  });

  await check('chat: 429 is RateLimitError with retry-after', async () => {
    const err = await rejectsWith(client.chat.completions.create(params), OpenAI.RateLimitError, '429');
    assert.equal(err.status, 429);
    assert.equal(err.headers.get('retry-after'), '3');
    assert.equal(err.code, 'rate_limit_exceeded');
    assert.match(err.requestID ?? '', /^req_/);
  });

  await check('chat: stream helper finalContent()', async () => {
    const content = await client.chat.completions.stream(params).finalContent();
    assert.equal(content, TEXT);
  });

  await check('chat: error chunk before content throws APIError', async () => {
    const iterate = async () => {
      const stream = await client.chat.completions.create({ ...params, stream: true });
      for await (const chunk of stream) void chunk;
    };
    await rejectsWith(iterate(), OpenAI.APIError, 'error chunk');
  });

  await fake.stop();
}

async function responsesChecks() {
  const fake = await startFake('openai-responses', 'ok,tool,ok,ok,429,error-before-content');
  const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.baseURL}/v1`, maxRetries: 0, timeout: 10000 });
  const params = { model: 'gpt-test', input: 'hi', store: false };

  await check('responses: stream().finalResponse() output text', async () => {
    const stream = client.responses.stream(params);
    let deltas = '';
    stream.on('response.output_text.delta', (e) => { deltas += e.delta; });
    const response = await stream.finalResponse();
    assert.equal(response.status, 'completed');
    assert.equal(response.output_text, TEXT);
    assert.equal(deltas, TEXT);
    assert.match(response.id, /^resp_/);
    assert.equal(response.usage.total_tokens, response.usage.input_tokens + response.usage.output_tokens);
  });

  await check('responses: streamed function_call', async () => {
    const response = await client.responses.stream(params).finalResponse();
    const call = response.output.find((item) => item.type === 'function_call');
    assert.ok(call, 'no function_call item');
    assert.equal(call.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.arguments), WEATHER);
    assert.match(call.call_id, /^call_/);
    assert.equal(call.status, 'completed');
  });

  await check('responses: non-streamed create', async () => {
    const response = await client.responses.create(params);
    assert.equal(response.object, 'response');
    assert.equal(response.output_text, TEXT);
  });

  await check('responses: raw events are numbered in order', async () => {
    const stream = await client.responses.create({ ...params, stream: true });
    const types = [];
    for await (const event of stream) {
      assert.equal(event.sequence_number, types.length);
      types.push(event.type);
    }
    assert.equal(types[0], 'response.created');
    assert.equal(types.at(-1), 'response.completed');
    assert.ok(types.includes('response.output_text.done'));
  });

  await check('responses: 429 is RateLimitError', async () => {
    const err = await rejectsWith(client.responses.create(params), OpenAI.RateLimitError, '429');
    assert.equal(err.code, 'rate_limit_exceeded');
  });

  await check('responses: response.failed before content', async () => {
    const stream = await client.responses.create({ ...params, stream: true });
    let failedEvent = null;
    for await (const event of stream) {
      if (event.type === 'response.failed') failedEvent = event;
    }
    assert.ok(failedEvent, 'no response.failed');
    assert.equal(failedEvent.response.status, 'failed');
    assert.equal(failedEvent.response.error.code, 'server_error');
  });

  await fake.stop();
}

try {
  await anthropicChecks();
  await chatChecks();
  await responsesChecks();
} catch (err) {
  failed++;
  console.log(`not ok - harness: ${err?.stack ?? err}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
