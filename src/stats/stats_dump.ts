/**
 * The field tables of `show stat` and `show info` and the three ways the stats socket prints them
 * (HAProxy 1.8: include/types/stats.h and the dumpers of src/stats.c):
 *
 *   CSV      `show stat`:        "# pxname,svname,...," then one line of values per row
 *   typed    `show stat typed`:  one line per field, "F.<iid>.<sid>.<pos>.<name>.<pid>:KNS:str:px"
 *            `show info typed`:  "<pos>.<name>.<process>:POS:str:hapoll"
 *   JSON     `show stat json`:   [[{row 1 field}, ...], [{row 2 field}, ...]]
 *            `show info json`:   [{field}, ...]; `show schema json` describes both
 *
 * A row is an array of values indexed by HAProxy's ST_F_* (or INF_*) positions; undefined is a
 * field that does not apply (HAProxy: FF_EMPTY), printed empty in CSV and left out of the typed and
 * JSON forms. The type (u32, u64, s32, str) and the three tags (origin, nature, scope) of each field
 * do not depend on its value, only on the kind of row: they are written below once per kind, in the
 * letters the typed form prints, from the mkf_*() calls of 1.8's stats_fill_*() functions.
 */

/**
 * HAProxy: stat_field_names[], in ST_F_* order (include/types/stats.h). Tools read `show stat` by
 * position, so this order is HAProxy 1.8's exactly.
 */
export const STAT_FIELD_NAMES = [
  "pxname", "svname", "qcur", "qmax", "scur", "smax", "slim", "stot", "bin", "bout", "dreq", "dresp",
  "ereq", "econ", "eresp", "wretr", "wredis", "status", "weight", "act", "bck", "chkfail", "chkdown",
  "lastchg", "downtime", "qlimit", "pid", "iid", "sid", "throttle", "lbtot", "tracked", "type", "rate",
  "rate_lim", "rate_max", "check_status", "check_code", "check_duration", "hrsp_1xx", "hrsp_2xx",
  "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other", "hanafail", "req_rate", "req_rate_max", "req_tot",
  "cli_abrt", "srv_abrt", "comp_in", "comp_out", "comp_byp", "comp_rsp", "lastsess", "last_chk",
  "last_agt", "qtime", "ctime", "rtime", "ttime", "agent_status", "agent_code", "agent_duration",
  "check_desc", "agent_desc", "check_rise", "check_fall", "check_health", "agent_rise", "agent_fall",
  "agent_health", "addr", "cookie", "mode", "algo", "conn_rate", "conn_rate_max", "conn_tot",
  "intercepted", "dcon", "dses",
];

/** HAProxy: ST_F_TOTAL_FIELDS. */
export const ST_F_TOTAL_FIELDS = STAT_FIELD_NAMES.length;

/** HAProxy: the ST_F_* positions, by field name. */
export const ST_F: Record<string, number> = Object.fromEntries(STAT_FIELD_NAMES.map((n, i) => [n, i]));

/** HAProxy: STATS_TYPE_FE / BE / SV / SO, the `type` column. */
export const STATS_TYPE_FE = 0;
export const STATS_TYPE_BE = 1;
export const STATS_TYPE_SV = 2;
export const STATS_TYPE_SO = 3;

/** HAProxy: info_field_names[], in INF_* order (include/types/stats.h). */
export const INFO_FIELD_NAMES = [
  "Name", "Version", "Release_date", "Nbproc", "Process_num", "Pid", "Uptime", "Uptime_sec", "Memmax_MB",
  "PoolAlloc_MB", "PoolUsed_MB", "PoolFailed", "Ulimit-n", "Maxsock", "Maxconn", "Hard_maxconn", "CurrConns",
  "CumConns", "CumReq", "MaxSslConns", "CurrSslConns", "CumSslConns", "Maxpipes", "PipesUsed", "PipesFree",
  "ConnRate", "ConnRateLimit", "MaxConnRate", "SessRate", "SessRateLimit", "MaxSessRate", "SslRate",
  "SslRateLimit", "MaxSslRate", "SslFrontendKeyRate", "SslFrontendMaxKeyRate", "SslFrontendSessionReuse_pct",
  "SslBackendKeyRate", "SslBackendMaxKeyRate", "SslCacheLookups", "SslCacheMisses", "CompressBpsIn",
  "CompressBpsOut", "CompressBpsRateLim", "ZlibMemUsage", "MaxZlibMemUsage", "Tasks", "Run_queue", "Idle_pct",
  "node", "description",
];

/** HAProxy: INF_PROCESS_NUM. */
const INF_PROCESS_NUM = INFO_FIELD_NAMES.indexOf("Process_num");

/** One stats value: a number, a string, or undefined for an empty field (HAProxy: FF_EMPTY). */
export type StatField = number | string | undefined;

/* ------------------------------------------------------------------------------------------- */
/* Field types and tags                                                                         */
/* ------------------------------------------------------------------------------------------- */

/**
 * A field's type and tags as "<type>:<origin><nature><scope>", the letters of the typed form:
 * origin M(etric) S(tatus) K(ey) C(onfig) P(roduct); nature G(auge) L(imit) m(in) M(ax) R(ate)
 * C(ounter) D(uration) A(ge) T(ime) N(ame) O(utput) a(vg); scope P(rocess) S(ervice) s(ystem)
 * C(luster). HAProxy: the FF_*, FO_*, FN_*, FS_* flags of struct field.
 */
type FieldSpec = string;

/** Expand a { name: spec } table into a spec per position (undefined: never set for that kind). */
function specTable(names: string[], t: Record<string, FieldSpec>): (FieldSpec | undefined)[] {
  for (const n of Object.keys(t)) if (!names.includes(n)) throw new Error(`stats: unknown field ${n}`);
  return names.map((n) => t[n]);
}

/** The specs every proxy row shares. */
const KEYS: Record<string, FieldSpec> = {
  pxname: "str:KNS", svname: "str:KNS", mode: "str:CGS", pid: "u32:KGP", iid: "u32:KGS", sid: "u32:KGS",
  type: "u32:CGS", status: "str:SGP", stot: "u64:MCP", bin: "u64:MCP", bout: "u64:MCP", scur: "u32:MGP",
  smax: "u32:MMP", slim: "u32:CLP", dresp: "u64:MCP",
};
const HRSP: Record<string, FieldSpec> = {
  hrsp_1xx: "u64:MCP", hrsp_2xx: "u64:MCP", hrsp_3xx: "u64:MCP", hrsp_4xx: "u64:MCP", hrsp_5xx: "u64:MCP",
  hrsp_other: "u64:MCP",
};
const COMP: Record<string, FieldSpec> = { comp_in: "u64:MCP", comp_out: "u64:MCP", comp_byp: "u64:MCP", comp_rsp: "u64:MCP" };
/** The servers' and backends' queue, error, abort and time columns. */
const BE_SV: Record<string, FieldSpec> = {
  qcur: "u32:MGP", qmax: "u32:MMP", econ: "u64:MCP", eresp: "u64:MCP", wretr: "u64:MCP", wredis: "u64:MCP",
  weight: "u32:MaP", chkdown: "u64:MCP", lastchg: "u32:MAP", downtime: "u32:MCP", lbtot: "u64:MCP",
  cli_abrt: "u64:MCP", srv_abrt: "u64:MCP", lastsess: "s32:MAP", qtime: "u32:MaP", ctime: "u32:MaP",
  rtime: "u32:MaP", ttime: "u32:MaP", cookie: "str:CNS",
};

/** HAProxy: stats_fill_fe_stats(). */
const FE_SPECS = specTable(STAT_FIELD_NAMES, {
  ...KEYS, ...HRSP, ...COMP, dreq: "u64:MCP", ereq: "u64:MCP", dcon: "u64:MCP", dses: "u64:MCP", rate: "u32:MRP",
  rate_lim: "u32:CLP", rate_max: "u32:MMP", intercepted: "u64:MCP", req_rate: "u32:MRP", req_rate_max: "u32:MMP",
  req_tot: "u64:MCP", conn_rate: "u32:MRP", conn_rate_max: "u32:MMP", conn_tot: "u64:MCP",
});

/** HAProxy: stats_fill_sv_stats() (checks and agents alike). */
const SV_SPECS = specTable(STAT_FIELD_NAMES, {
  ...KEYS, ...HRSP, ...BE_SV, act: "u32:SGP", bck: "u32:SGP", chkfail: "u64:MCP", qlimit: "u32:CGS",
  throttle: "u32:MaP", tracked: "str:CNS", rate: "u32:MRP", rate_max: "u32:MMP", hanafail: "u64:MCP",
  check_status: "str:MOP", check_code: "u32:MOP", check_duration: "u64:MDP", check_desc: "str:MOP",
  last_chk: "str:MOP", check_rise: "u32:CGS", check_fall: "u32:CGS", check_health: "u32:CGS",
  agent_status: "str:MOP", agent_code: "u32:MOP", agent_duration: "u64:MDP", agent_desc: "str:MOP",
  last_agt: "str:MOP", agent_rise: "u32:CGS", agent_fall: "u32:CGS", agent_health: "u32:CGS", addr: "str:CGS",
});

/** HAProxy: stats_fill_be_stats() (act, bck and the rates are plain metrics there, not status). */
const BE_SPECS = specTable(STAT_FIELD_NAMES, {
  ...KEYS, ...HRSP, ...COMP, ...BE_SV, dreq: "u64:MCP", act: "u32:MGP", bck: "u32:MGP", rate: "u32:MGP",
  rate_max: "u32:MGP", req_tot: "u64:MCP", algo: "str:CGS",
});

/** HAProxy: stats_fill_info() (MaxSessRate is tagged a rate there, not a maximum). */
const INFO_SPECS = specTable(INFO_FIELD_NAMES, {
  Name: "str:POS", Version: "str:POS", Release_date: "str:POS", Nbproc: "u32:CGS", Process_num: "u32:KGP",
  Pid: "u32:SGP", Uptime: "str:MDP", Uptime_sec: "u32:MDP", Memmax_MB: "u32:CLP", PoolAlloc_MB: "u32:MGP",
  PoolUsed_MB: "u32:MGP", PoolFailed: "u32:MCP", "Ulimit-n": "u32:CLP", Maxsock: "u32:CLP", Maxconn: "u32:CLP",
  Hard_maxconn: "u32:CLP", CurrConns: "u32:MGP", CumConns: "u32:MCP", CumReq: "u32:MCP", MaxSslConns: "u32:MMP",
  CurrSslConns: "u32:MGP", CumSslConns: "u32:MCP", Maxpipes: "u32:CLP", PipesUsed: "u32:MGP", PipesFree: "u32:MGP",
  ConnRate: "u32:MRP", ConnRateLimit: "u32:CLP", MaxConnRate: "u32:MMP", SessRate: "u32:MRP",
  SessRateLimit: "u32:CLP", MaxSessRate: "u32:MRP", SslRate: "u32:MRP", SslRateLimit: "u32:CLP",
  MaxSslRate: "u32:MMP", SslFrontendKeyRate: "u32:MGP", SslFrontendMaxKeyRate: "u32:MMP",
  SslFrontendSessionReuse_pct: "u32:MGP", SslBackendKeyRate: "u32:MRP", SslBackendMaxKeyRate: "u32:MMP",
  SslCacheLookups: "u32:MCP", SslCacheMisses: "u32:MCP", CompressBpsIn: "u32:MRP", CompressBpsOut: "u32:MRP",
  CompressBpsRateLim: "u32:CLP", ZlibMemUsage: "u32:MGP", MaxZlibMemUsage: "u32:CLP", Tasks: "u32:MGP",
  Run_queue: "u32:MGP", Idle_pct: "u32:MaP", node: "str:COS", description: "str:COS",
});

/** The spec table of a `show stat` row, by its `type` column. */
function rowSpecs(fields: StatField[]): (FieldSpec | undefined)[] {
  const t = fields[ST_F.type];
  return t === STATS_TYPE_FE ? FE_SPECS : t === STATS_TYPE_BE ? BE_SPECS : SV_SPECS;
}

/**
 * The spec of field <i> of <fields> (a `show stat` row, or the `show info` fields with <info>).
 * Throws when a filled field has none: a fill function setting a field 1.8 never sets is a bug.
 */
export function fieldSpec(fields: StatField[], i: number, info = false): FieldSpec {
  const spec = (info ? INFO_SPECS : rowSpecs(fields))[i];
  if (spec === undefined) throw new Error(`stats: field ${info ? INFO_FIELD_NAMES[i] : STAT_FIELD_NAMES[i]} has no type`);
  return spec;
}

const ORIGIN_NAMES: Record<string, string> = { M: "Metric", S: "Status", K: "Key", C: "Config", P: "Product" };
const NATURE_NAMES: Record<string, string> = {
  G: "Gauge", L: "Limit", m: "Min", M: "Max", R: "Rate", C: "Counter", D: "Duration", A: "Age", T: "Time", N: "Name",
  O: "Output", a: "Avg",
};
const SCOPE_NAMES: Record<string, string> = { P: "Process", S: "Service", s: "System", C: "Cluster" };

/* ------------------------------------------------------------------------------------------- */
/* CSV                                                                                          */
/* ------------------------------------------------------------------------------------------- */

/** HAProxy: csv_enc_append(str, 1, ...): quote only when the text holds a comma, quote or line break. */
export function csvEnc(s: string): string {
  if (!/[\n\r,"]/.test(s)) return s;
  return `"${s.replace(/"/g, '""')}"`;
}

/** HAProxy: stats_emit_raw_data_field(). */
export function emitRawField(f: StatField): string {
  if (f === undefined) return "";
  if (typeof f === "number") return String(f);
  return csvEnc(f);
}

/** HAProxy: stats_dump_fields_csv(): every field followed by a comma, then a newline. */
export function csvLine(fields: StatField[]): string {
  let out = "";
  for (let i = 0; i < ST_F_TOTAL_FIELDS; i++) out += emitRawField(fields[i]) + ",";
  return out + "\n";
}

/** HAProxy: stats_dump_csv_header(): "# pxname,svname,...,dses,". */
export function csvHeader(): string {
  return "# " + STAT_FIELD_NAMES.map((n) => n + ",").join("") + "\n";
}

/* ------------------------------------------------------------------------------------------- */
/* typed                                                                                        */
/* ------------------------------------------------------------------------------------------- */

/** HAProxy: stats_emit_field_tags(f, ':') + stats_emit_typed_data_field(): "KNS:str:px". */
function typedValue(spec: FieldSpec, v: number | string): string {
  const [type, tags] = spec.split(":");
  return `${tags}:${type}:${v}`;
}

/** HAProxy: stats_dump_fields_typed(): one line per field of a `show stat` row. */
export function typedStatLines(fields: StatField[]): string {
  const t = fields[ST_F.type];
  const letter = t === STATS_TYPE_FE ? "F" : t === STATS_TYPE_BE ? "B" : t === STATS_TYPE_SO ? "L" : t === STATS_TYPE_SV ? "S" : "?";
  const head = `${letter}.${fields[ST_F.iid]}.${fields[ST_F.sid]}.`;
  let out = "";
  for (let i = 0; i < ST_F_TOTAL_FIELDS; i++) {
    const v = fields[i];
    if (v === undefined) continue;
    out += `${head}${i}.${STAT_FIELD_NAMES[i]}.${fields[ST_F.pid]}:${typedValue(fieldSpec(fields, i), v)}\n`;
  }
  return out;
}

/** HAProxy: stats_dump_typed_info_fields(): "<pos>.<name>.<process>:<tags>:<type>:<value>" lines. */
export function typedInfoLines(info: StatField[]): string {
  let out = "";
  for (let i = 0; i < INFO_FIELD_NAMES.length; i++) {
    const v = info[i];
    if (v === undefined) continue;
    out += `${i}.${INFO_FIELD_NAMES[i]}.${info[INF_PROCESS_NUM]}:${typedValue(fieldSpec(info, i, true), v)}\n`;
  }
  return out;
}

/* ------------------------------------------------------------------------------------------- */
/* JSON                                                                                         */
/* ------------------------------------------------------------------------------------------- */

/** HAProxy: JSON_INT_MAX, 2^53 - 1 (RFC 7159's interoperable integers). */
const JSON_INT_MAX = Number.MAX_SAFE_INTEGER;

/** HAProxy's answer when a row cannot be printed (a 64-bit value past JSON_INT_MAX). */
const JSON_ERROR = '{"errorStr":"output buffer too short"}';

/**
 * HAProxy: stats_emit_json_field_tags() + stats_emit_json_data_field(): the "tags" and "value"
 * members of one field, or null when the value cannot be written (past JSON_INT_MAX). Strings are
 * escaped: 1.8.0 copies them raw, which breaks the document on a quote or a backslash; for every
 * other value the text is 1.8.0's.
 */
function jsonTagsValue(spec: FieldSpec, v: number | string): string | null {
  const [type, tags] = spec.split(":");
  if (typeof v === "number" && (v > JSON_INT_MAX || v < -JSON_INT_MAX)) return null;
  const value = typeof v === "string" ? JSON.stringify(v) : String(v);
  return `"tags":{"origin":"${ORIGIN_NAMES[tags[0]]}","nature":"${NATURE_NAMES[tags[1]]}","scope":"${SCOPE_NAMES[tags[2]]}"},` +
    `"value":{"type":"${type}","value":${value}}`;
}

/** HAProxy: stats_dump_fields_json(): one `show stat` row as an array of field objects. */
export function jsonStatRow(fields: StatField[]): string {
  const t = fields[ST_F.type];
  const objType = t === STATS_TYPE_FE ? "Frontend" : t === STATS_TYPE_BE ? "Backend" : t === STATS_TYPE_SO ? "Listener" : t === STATS_TYPE_SV ? "Server" : "Unknown";
  const items: string[] = [];
  for (let i = 0; i < ST_F_TOTAL_FIELDS; i++) {
    const v = fields[i];
    if (v === undefined) continue;
    const tv = jsonTagsValue(fieldSpec(fields, i), v);
    if (tv === null) return JSON_ERROR;
    items.push(`{"objType":"${objType}","proxyId":${fields[ST_F.iid]},"id":${fields[ST_F.sid]},` +
      `"field":{"pos":${i},"name":"${STAT_FIELD_NAMES[i]}"},"processNum":${fields[ST_F.pid]},${tv}}`);
  }
  return `[${items.join(",")}]`;
}

/** HAProxy: stats_dump_json_info_fields(): the `show info` fields as one array. */
export function jsonInfo(info: StatField[]): string {
  const items: string[] = [];
  for (let i = 0; i < INFO_FIELD_NAMES.length; i++) {
    const v = info[i];
    if (v === undefined) continue;
    const tv = jsonTagsValue(fieldSpec(info, i, true), v);
    if (tv === null) return JSON_ERROR;
    items.push(`{"field":{"pos":${i},"name":"${INFO_FIELD_NAMES[i]}"},"processNum":${info[INF_PROCESS_NUM]},${tv}}`);
  }
  return `[${items.join(",")}]`;
}

/* ------------------------------------------------------------------------------------------- */
/* show schema json                                                                             */
/* ------------------------------------------------------------------------------------------- */

/** A JSON-schema integer bounded below (and above). */
function int(minimum: number, maximum?: number): object {
  return maximum === undefined ? { type: "integer", minimum } : { type: "integer", minimum, maximum };
}

/** One of the typed values ("u32", ...) of the schema's typedValue definitions. */
function typed(type: string, value: object): object {
  return { properties: { type: { type: "string", enum: [type] }, value }, required: ["type", "value"] };
}

/**
 * HAProxy: stats_dump_json_schema(): the JSON schema of `show info json` and `show stat json`,
 * printed as 1.8.0 prints it (its member order, its quirks: the Stat items are titled "InfoItem",
 * name "typedValue" but require "value", and one enum has a blank after a comma).
 */
export function jsonSchema(): string {
  const ref = (n: string) => ({ $ref: `#/definitions/${n}` });
  const tv = (n: string) => ({ $ref: `#/definitions/typedValue/definitions/${n}` });
  const schema = {
    $schema: "http://json-schema.org/draft-04/schema#",
    oneOf: [
      {
        title: "Info", type: "array",
        items: {
          properties: { title: "InfoItem", type: "object", field: ref("field"), processNum: ref("processNum"), tags: ref("tags"), value: ref("typedValue") },
          required: ["field", "processNum", "tags", "value"],
        },
      },
      {
        title: "Stat", type: "array",
        items: {
          title: "InfoItem", type: "object",
          properties: {
            objType: { enum: ["Frontend", "Backend", "Listener", "Server", "Unknown"] }, proxyId: int(0), id: int(0),
            field: ref("field"), processNum: ref("processNum"), tags: ref("tags"), typedValue: ref("typedValue"),
          },
          required: ["objType", "proxyId", "id", "field", "processNum", "tags", "value"],
        },
      },
      { title: "Error", type: "object", properties: { errorStr: { type: "string" }, required: ["errorStr"] } },
    ],
    definitions: {
      field: { type: "object", pos: int(0), name: { type: "string" }, required: ["pos", "name"] },
      processNum: int(1),
      tags: {
        type: "object",
        origin: { type: "string", enum: [...Object.values(ORIGIN_NAMES), "Unknown"] },
        nature: { type: "string", enum: [...Object.values(NATURE_NAMES), "Unknown"] },
        scope: { type: "string", enum: ["Cluster", "Process", "Service", "System", "Unknown"] },
        required: ["origin", "nature", "scope"],
      },
      typedValue: {
        type: "object",
        oneOf: [tv("s32Value"), tv("s64Value"), tv("u32Value"), tv("u64Value"), tv("strValue")],
        definitions: {
          s32Value: typed("s32", int(-2147483648, 2147483647)),
          s64Value: typed("s64", int(-JSON_INT_MAX, JSON_INT_MAX)),
          u32Value: typed("u32", int(0, 4294967295)),
          u64Value: typed("u64", int(0, JSON_INT_MAX)),
          strValue: typed("str", { type: "string" }),
          unknownValue: { properties: { type: int(0), value: { type: "string", enum: ["unknown"] } }, required: ["type", "value"] },
        },
      },
    },
  };
  return JSON.stringify(schema).replace('"Avg","Unknown"', '"Avg", "Unknown"');
}
