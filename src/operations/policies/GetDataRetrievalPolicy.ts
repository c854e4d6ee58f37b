import type { DataRetrievalPolicyRecord } from '../../storage/metadata/types.js';
import type { Handler } from '../types.js';

/** The wire form of a rule: BytesPerHour only for that strategy (DG data-retrieval-policy). */
export function retrievalPolicyJson(p: DataRetrievalPolicyRecord) {
  const rule = p.strategy === 'BytesPerHour' ? { BytesPerHour: p.bytesPerHour, Strategy: p.strategy } : { Strategy: p.strategy };
  return { Policy: { Rules: [rule] } };
}

/** GET /{a}/policies/data-retrieval → `{"Policy":{"Rules":[…]}}`; `None` ("No Retrieval Limit") until one is set. */
export const GetDataRetrievalPolicy: Handler = async (ctx) => {
  const p = await ctx.app.store.settings.getRetrievalPolicy(ctx.accountId, ctx.region);
  return { status: 200, json: retrievalPolicyJson(p ?? { strategy: 'None', bytesPerHour: null }) };
};
