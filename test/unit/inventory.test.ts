import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CSV_HEADER,
  csvQuoteDescription,
  csvRow,
  decodeInventoryMarker,
  encodeInventoryMarker,
  jsonHead,
  jsonItem,
  JSON_TAIL,
  parseInventoryDate,
} from '../../src/domain/inventory.js';

const ID = 'x'.repeat(138);
const HASH = 'a'.repeat(64);

test('JSON inventory: compact, real key order, second-precision dates [R mt-aws-glacier inventory_json.t]', () => {
  const at = Date.parse('2013-11-06T02:51:29.123Z');
  const doc =
    jsonHead('arn:aws:glacier:us-east-1:222222223333:vaults/test1', at) +
    jsonItem({ archiveId: ID, description: 'mt2 textst', createdAt: Date.parse('2012-08-23T19:09:17.999Z'), size: 25000000, treeHash: HASH }, true) +
    jsonItem({ archiveId: ID, description: '', createdAt: 0, size: 1, treeHash: HASH }, false) +
    JSON_TAIL;
  assert.equal(
    doc,
    `{"VaultARN":"arn:aws:glacier:us-east-1:222222223333:vaults/test1","InventoryDate":"2013-11-06T02:51:29Z","ArchiveList":[` +
      `{"ArchiveId":"${ID}","ArchiveDescription":"mt2 textst","CreationDate":"2012-08-23T19:09:17Z","Size":25000000,"SHA256TreeHash":"${HASH}"},` +
      `{"ArchiveId":"${ID}","ArchiveDescription":"","CreationDate":"1970-01-01T00:00:00Z","Size":1,"SHA256TreeHash":"${HASH}"}]}`,
  );
  assert.equal(JSON.parse(jsonHead('a', 0) + JSON_TAIL).ArchiveList.length, 0);
  // Descriptions with JSON-special characters round-trip.
  const d = 'q"uote \\ back / slash {}';
  assert.equal(JSON.parse(jsonItem({ archiveId: ID, description: d, createdAt: 0, size: 1, treeHash: HASH }, true)).ArchiveDescription, d);
});

test('CSV inventory: description always quoted, " escaped as \\", backslash not escaped [R inventory_csv.t; DG]', () => {
  assert.equal(CSV_HEADER, 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n');
  assert.equal(csvQuoteDescription('mt2 eyJmaWxl'), '"mt2 eyJmaWxl"');
  assert.equal(csvQuoteDescription(''), '""');
  assert.equal(csvQuoteDescription('a,b'), '"a,b"');
  assert.equal(csvQuoteDescription('say "hi"'), '"say \\"hi\\""');
  assert.equal(csvQuoteDescription('back\\slash'), '"back\\slash"');
  assert.equal(
    csvRow({ archiveId: ID, description: 'x "y", z', createdAt: Date.parse('2014-04-07T17:45:45.500Z'), size: 125, treeHash: HASH }),
    `${ID},"x \\"y\\", z",2014-04-07T17:45:45Z,125,${HASH}\n`,
  );
});

test('inventory markers round-trip and reject garbage', () => {
  const c = { createdAt: 1700000000123, archiveId: '-abc_DEF-123' };
  const m = encodeInventoryMarker(c);
  assert.match(m, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodeInventoryMarker(m), c);
  for (const bad of ['', 'not a marker', 'AAAA', Buffer.from('[1,2]').toString('base64url'), Buffer.from('{"a":1}').toString('base64url'), Buffer.from('[1.5,"x"]').toString('base64url')]) {
    assert.equal(decodeInventoryMarker(bad), null, bad);
  }
});

test('InventoryRetrievalParameters dates are ISO-8601', () => {
  assert.equal(parseInventoryDate('2013-03-20T17:03:43Z'), Date.UTC(2013, 2, 20, 17, 3, 43));
  assert.equal(parseInventoryDate('2013-03-20T17:03:43.250Z'), Date.UTC(2013, 2, 20, 17, 3, 43, 250));
  assert.equal(parseInventoryDate('2013-03-20T19:03:43+02:00'), Date.UTC(2013, 2, 20, 17, 3, 43));
  for (const bad of ['2013-03-20', 'yesterday', '2013-13-40T00:00:00Z', '2013-03-20 17:03:43Z', '']) assert.equal(parseInventoryDate(bad), null, bad);
});
