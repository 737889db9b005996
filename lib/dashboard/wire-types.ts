/**
 * The dashboard API's answers as the page receives them: the server's own answer types after JSON
 * encoding (a `Date` arrives as its ISO string). The page (dashboard-ui/) imports these, so a
 * change to an answer is a type error in the page, not a silent mismatch. Types only: importing
 * this file puts no server code in the browser bundle.
 */
import type { ClusterAnswer as ClusterAnswerObject } from './cluster-view.js';
import type { RoomsEvent as RoomsEventObject } from './event-stream.js';
import type { RoomSortKey } from './metadata/metadata-store.js';
import type { RoomListItem, RoomListResult } from './room-list.js';
import type { RoomDetailsAnswer } from './room-routes.js';
import type { DashboardSample, DashboardStats } from './stats.js';
import type { VersionInfo } from '../core/versions/version-types.js';

/** `T` as `JSON.parse(JSON.stringify(value))` gives it back: dates become strings, nothing is readonly. */
export type OnTheWire<T> = T extends Date
  ? string
  : T extends ReadonlyArray<infer Item>
    ? OnTheWire<Item>[]
    : T extends object
      ? { -readonly [Key in keyof T]: OnTheWire<T[Key]> }
      : T;

/** A room of the list (`GET /api/rooms`) and of a room's details. */
export type RoomItem = OnTheWire<RoomListItem>;
export type SortKey = RoomSortKey;
/** `GET /api/rooms` */
export type RoomList = OnTheWire<RoomListResult>;
/** `GET /api/rooms/:room` */
export type RoomDetails = OnTheWire<RoomDetailsAnswer>;
/** `GET /api/cluster` */
export type ClusterAnswer = OnTheWire<ClusterAnswerObject>;
/** A node of the cluster, with the number of rooms it holds. Times are ms since the epoch. */
export type ClusterNode = NonNullable<ClusterAnswer['cluster']>['nodes'][number];
/** A node holding a room, as the cluster registry knows it. Times are ms since the epoch. */
export type Holder = NonNullable<RoomDetails['holders']>[number];
/** `GET /api/stats`, and the stream's `totals` event. */
export type Stats = OnTheWire<DashboardStats>;
/** One point of the chart: the stream's `sample` event, and the entries of its `history` event. */
export type Sample = OnTheWire<DashboardSample>;
/** The stream's `rooms` event. */
export type RoomsEvent = OnTheWire<RoomsEventObject>;

/** A version as `GET /api/rooms/:room/versions` lists it. */
export type VersionItem = OnTheWire<VersionInfo>;
export type { WebhookDeliveryRecord, WebhookStats, WebhookStatus } from '../core/webhooks/webhook-wire-types.js';
