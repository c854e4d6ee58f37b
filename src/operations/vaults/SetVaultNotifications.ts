import { Errors } from '../../domain/errors.js';
import { bodyObject, requireVault } from '../common.js';
import type { Handler } from '../types.js';

/** The only two events Glacier publishes (DG configuring-notifications). */
export const NOTIFICATION_EVENTS = ['ArchiveRetrievalCompleted', 'InventoryRetrievalCompleted'] as const;
const SNS_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

/** PUT /{a}/vaults/{v}/notification-configuration, body `{"SNSTopic","Events"}` → 204. */
export const SetVaultNotifications: Handler = async (ctx, input) => {
  const v = await requireVault(ctx, input);
  const body = bodyObject(input);
  const { SNSTopic: topic, Events: events } = body;
  if (topic === undefined || topic === null) throw Errors.missingParameter('Required parameter SNSTopic is missing');
  if (typeof topic !== 'string' || !SNS_ARN.test(topic)) throw Errors.invalidParameter(`Invalid SNS topic ARN: ${String(topic)}`);
  if (events === undefined || events === null) throw Errors.missingParameter('Required parameter Events is missing');
  if (!Array.isArray(events) || events.length === 0) throw Errors.invalidParameter('Events must be a non-empty list');
  for (const e of events) {
    if (!(NOTIFICATION_EVENTS as readonly unknown[]).includes(e)) {
      throw Errors.invalidParameter(`Invalid event: ${String(e)}. Valid events are ${NOTIFICATION_EVENTS.join(' and ')}`);
    }
  }
  await ctx.app.store.vaults.setNotifications(v.id, { snsTopic: topic, events: [...new Set(events as string[])] });
  return { status: 204 };
};
