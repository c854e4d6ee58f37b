// node:test reporter for scripts/e2e-twice.mjs: one JSON line per finished test.
export default async function* results(source) {
  for await (const e of source) {
    if (e.type !== 'test:pass' && e.type !== 'test:fail') continue;
    const { file, name, nesting, skip, todo } = e.data;
    const outcome = e.type === 'test:fail' ? 'fail' : skip !== undefined ? 'skip' : todo !== undefined ? 'todo' : 'pass';
    yield JSON.stringify({ file, name, nesting, outcome }) + '\n';
  }
}
