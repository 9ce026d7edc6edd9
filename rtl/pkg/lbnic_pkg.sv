// Generated from the lbnic hardware contract (crate lbnic-contract). DO NOT EDIT.
// Target: default, fingerprint 0xe6c5dbb4ec1e488f.
// Command: lbnic target default --emit sv -o rtl/pkg/lbnic_pkg.sv
// (scripts/gen-headers.sh regenerates the committed default-target files.)
//
// No `import lbnic_pkg::*` (Yosys rejects it): use qualified names,
// e.g. lbnic_pkg::REG_COMMIT, lbnic_pkg::ct_way_t.
//
// Packed structs <entry>_t: byte k of the entry is bits [8k+7:8k], so the
// field at offset 0 is the LAST member and a 512-bit memory beat (byte k on
// bits [8k+7:8k], little-endian byte lanes) assigns to a ct_way_t or vip_t
// directly. Integer fields are little-endian and read as numbers; byte-string
// fields (addresses, MACs, keys) are logic [n-1:0][7:0] with element k =
// octet k (IPv4 is IPv4-mapped: octets 12..15 of the address).
/* verilator lint_off UNUSEDPARAM */
package lbnic_pkg;

  // Contract and target identity
  localparam int unsigned CONTRACT_VERSION_MAJOR = 2;
  localparam int unsigned CONTRACT_VERSION_MINOR = 1;
  localparam int unsigned CONTRACT_VERSION = 32'h00020001;
  localparam logic [63:0] TARGET_FINGERPRINT = 64'he6c5dbb4ec1e488f;
  localparam int unsigned ID_MAGIC = 32'h434e424c;
  localparam int unsigned COMMIT_MAGIC = 32'hc0aa17ed;
  localparam logic [63:0] IMAGE_MAGIC = 64'h474d4943494e424c;
  localparam int unsigned IMAGE_FORMAT_VERSION = 2;
  localparam int unsigned IMAGE_HEADER_LEN = 512;

  // Target parameters (bar.* are the BAR layout)
  localparam int unsigned TARGET_CLOCK_MHZ = 322;
  localparam int unsigned TARGET_DATAPATH_BYTES = 64;
  localparam int unsigned TARGET_PORT_GBPS = 100;
  localparam int unsigned TARGET_MAX_RX_FRAME = 9600;
  localparam int unsigned TARGET_RX_BUFFER_BYTES = 65536;
  localparam int unsigned TARGET_MAX_VIPS = 256;
  localparam int unsigned TARGET_MAX_BACKENDS = 65536;
  localparam int unsigned TARGET_LUT_ENTRY_BITS = 14;
  localparam int unsigned TARGET_LUT_ENTRIES = 8388608;
  localparam int unsigned TARGET_CT_BUCKETS = 262144;
  localparam int unsigned TARGET_CT_WAYS = 8;
  localparam int unsigned TARGET_CT_LATENCY_CYCLES = 100;
  localparam int unsigned TARGET_CT_MAX_OUTSTANDING = 128;
  localparam int unsigned TARGET_CT_BEATS_PER_CYCLE = 16;
  localparam int unsigned TARGET_FIFO_DEPTH = 64;
  localparam int unsigned TARGET_CT_TICK_US = 1000;
  localparam int unsigned TARGET_NO_VIP_ACTION = 0;
  localparam int unsigned TARGET_PARSE_ERROR_ACTION = 1;
  localparam int unsigned TARGET_BAR_REGISTER_BAR = 2;
  localparam logic [63:0] TARGET_BAR_REGISTER_OFFSET = 64'h0000000000000000;
  localparam int unsigned TARGET_BAR_APERTURE_BAR = 2;
  localparam logic [63:0] TARGET_BAR_APERTURE_OFFSET = 64'h0000000000010000;
  localparam int unsigned TARGET_MAX_BACKENDS_PER_VIP = 16384;
  localparam int unsigned TARGET_CT_BUCKET_BITS = 18;
  localparam int unsigned TARGET_CT_PAGE_BUCKETS = 4096;
  localparam int unsigned CT_BUCKET_MIX = 32'h9e3779b1;

  // Memory map, bytes: sections are bank-relative, the rest aperture-relative
  localparam int unsigned SECTION_ALIGN = 32'h00001000;
  localparam logic [63:0] MEM_GLOBAL_BASE = 64'h0000000000000000;
  localparam logic [63:0] MEM_GLOBAL_LEN = 64'h0000000000000100;
  localparam logic [63:0] MEM_VIP_BASE = 64'h0000000000001000;
  localparam logic [63:0] MEM_VIP_LEN = 64'h0000000000004000;
  localparam logic [63:0] MEM_BACKEND_BASE = 64'h0000000000005000;
  localparam logic [63:0] MEM_BACKEND_LEN = 64'h0000000000200000;
  localparam logic [63:0] MEM_LUT_BASE = 64'h0000000000205000;
  localparam logic [63:0] MEM_LUT_LEN = 64'h0000000000e00000;
  localparam logic [63:0] MEM_BANK_LEN = 64'h0000000001005000;
  localparam logic [63:0] MEM_BANK0_BASE = 64'h0000000000000000;
  localparam logic [63:0] MEM_BANK1_BASE = 64'h0000000001005000;
  localparam logic [63:0] MEM_CONNTRACK_BASE = 64'h000000000200a000;
  localparam logic [63:0] MEM_CONNTRACK_LEN = 64'h0000000008000000;
  localparam logic [63:0] MEM_CT_BUCKET_LEN = 64'h0000000000000200;
  localparam logic [63:0] MEM_APERTURE_LEN = 64'h000000000a00a000;
  localparam logic [63:0] MEM_BAR_LEN = 64'h0000000010000000;

  // Register block: byte offsets from the register BAR offset; 64-bit values are LO then HI
  localparam int unsigned REG_BLOCK_LEN = 32'h00001000;
  localparam int unsigned REG_ID = 32'h00000000;
  localparam int unsigned REG_VERSION = 32'h00000004;
  localparam int unsigned REG_FINGERPRINT_LO = 32'h00000008;
  localparam int unsigned REG_FINGERPRINT_HI = 32'h0000000c;
  localparam int unsigned REG_CONTROL = 32'h00000010;
  localparam int unsigned REG_STATUS = 32'h00000014;
  localparam int unsigned REG_SCRATCH = 32'h00000018;
  localparam int unsigned REG_HEARTBEAT = 32'h0000001c;
  localparam int unsigned REG_STAGED_GEN_LO = 32'h00000020;
  localparam int unsigned REG_STAGED_GEN_HI = 32'h00000024;
  localparam int unsigned REG_STAGED_LEN = 32'h00000028;
  localparam int unsigned REG_STAGED_CRC = 32'h0000002c;
  localparam int unsigned REG_COMMIT = 32'h00000030;
  localparam int unsigned REG_ACTIVE_BANK = 32'h00000034;
  localparam int unsigned REG_ACTIVE_GEN_LO = 32'h00000038;
  localparam int unsigned REG_ACTIVE_GEN_HI = 32'h0000003c;
  localparam int unsigned REG_COMMIT_RESULT = 32'h00000040;
  localparam int unsigned REG_COMMIT_SEQ = 32'h00000044;
  localparam int unsigned REG_NOW_LO = 32'h00000048;
  localparam int unsigned REG_NOW_HI = 32'h0000004c;
  localparam int unsigned REG_COUNTERS = 32'h00000100;
  localparam int unsigned REG_PARSE_ERRORS = 32'h00000200;
  localparam int unsigned CONTROL_ENABLE = 32'h00000001;
  localparam int unsigned CONTROL_RESET = 32'h00000002;
  localparam int unsigned CONTROL_CT_FLUSH = 32'h00000004;
  localparam int unsigned CONTROL_CT_HOST = 32'h00000008;
  localparam int unsigned STATUS_READY = 32'h00000001;
  localparam int unsigned STATUS_COMMIT_BUSY = 32'h00000002;
  localparam int unsigned STATUS_RUNNING = 32'h00000004;
  localparam int unsigned STATUS_CT_HOST_ACK = 32'h00000008;
  localparam int unsigned COMMIT_RESULT_NONE = 0;
  localparam int unsigned COMMIT_RESULT_OK = 1;
  localparam int unsigned COMMIT_RESULT_BAD_CRC = 2;
  localparam int unsigned COMMIT_RESULT_BAD_LEN = 3;
  localparam int unsigned COMMIT_RESULT_BAD_TABLE = 4;

  // 64-bit counters: register offset of the low word
  localparam int unsigned COUNTER_COUNT = 26;
  localparam int unsigned COUNTER_RX_PACKETS = 32'h00000100;
  localparam int unsigned COUNTER_RX_BYTES = 32'h00000108;
  localparam int unsigned COUNTER_TX_PACKETS = 32'h00000110;
  localparam int unsigned COUNTER_TX_BYTES = 32'h00000118;
  localparam int unsigned COUNTER_PASS_PACKETS = 32'h00000120;
  localparam int unsigned COUNTER_DROP_PARSE = 32'h00000128;
  localparam int unsigned COUNTER_DROP_NO_VIP = 32'h00000130;
  localparam int unsigned COUNTER_DROP_NO_BACKEND = 32'h00000138;
  localparam int unsigned COUNTER_DROP_TOO_BIG = 32'h00000140;
  localparam int unsigned COUNTER_DROP_UNROUTABLE = 32'h00000148;
  localparam int unsigned COUNTER_CT_HITS = 32'h00000150;
  localparam int unsigned COUNTER_CT_MISSES = 32'h00000158;
  localparam int unsigned COUNTER_CT_INSERTS = 32'h00000160;
  localparam int unsigned COUNTER_CT_EVICTIONS = 32'h00000168;
  localparam int unsigned COUNTER_CT_AGEOUTS = 32'h00000170;
  localparam int unsigned COUNTER_COMMITS = 32'h00000178;
  localparam int unsigned COUNTER_COMMIT_ERRORS = 32'h00000180;
  localparam int unsigned COUNTER_FRAG_PACKETS = 32'h00000188;
  localparam int unsigned COUNTER_DROP_FRAG_AMBIGUOUS = 32'h00000190;
  localparam int unsigned COUNTER_ICMP_TOO_BIG_SENT = 32'h00000198;
  localparam int unsigned COUNTER_ICMP_RATE_LIMITED = 32'h000001a0;
  localparam int unsigned COUNTER_RX_OVERSIZE = 32'h000001a8;
  localparam int unsigned COUNTER_RX_UNDERSIZE = 32'h000001b0;
  localparam int unsigned COUNTER_RX_OVERFLOW = 32'h000001b8;
  localparam int unsigned COUNTER_CT_RELOCATIONS = 32'h000001c0;
  localparam int unsigned COUNTER_CT_INSERT_REFUSED = 32'h000001c8;
  localparam int unsigned PARSE_REASON_COUNT = 8;
  localparam int unsigned PARSE_WINDOW = 256;
  localparam int unsigned PARSE_LATENCY = 20;
  localparam int unsigned FRONT_LATENCY = 29;
  localparam int unsigned CT_EXEC_LATENCY = 26;
  localparam int unsigned CT_POSTED_ISSUE = 32;
  localparam int unsigned CT_POSTED_ISSUE_SEARCH = 46;
  localparam int unsigned CT_UNIT_CHECK = 25;
  localparam int unsigned CT_UNIT_CHECK_HASHED = 14;
  localparam int unsigned CT_UNIT_CHECK_SEARCH = 44;
  localparam int unsigned CT_TAG_BITS = 8;
  localparam int unsigned CT_TAG_QUEUED = 32'h00000080;
  localparam int unsigned CT_TAG_EXEC_A = 0;
  localparam int unsigned CT_TAG_EXEC_B = 1;
  localparam int unsigned CT_TAG_EXEC_T = 2;
  localparam int unsigned CT_TAG_RMW = 3;
  localparam int unsigned CT_RMW_UNITS = 4;
  localparam int unsigned PARSE_ERROR_TRUNCATED = 32'h00000200;
  localparam int unsigned PARSE_ERROR_BAD_IP_VERSION = 32'h00000208;
  localparam int unsigned PARSE_ERROR_BAD_IHL = 32'h00000210;
  localparam int unsigned PARSE_ERROR_BAD_LENGTH = 32'h00000218;
  localparam int unsigned PARSE_ERROR_EXT_HEADER_CHAIN = 32'h00000220;
  localparam int unsigned PARSE_ERROR_BAD_UDP_LENGTH = 32'h00000228;
  localparam int unsigned PARSE_ERROR_BAD_TCP_OFFSET = 32'h00000230;
  localparam int unsigned PARSE_ERROR_BAD_INNER = 32'h00000238;

  // Codes stored in entries and target parameters
  typedef enum logic [7:0] {
    MODE_DR = 8'd0,
    MODE_TUN_IPIP = 8'd1,
    MODE_TUN_GUE = 8'd2,
    MODE_NAT = 8'd3
  } mode_e;
  typedef enum logic [7:0] {
    SCHED_MAGLEV = 8'd0,
    SCHED_MAGLEV_STABLE = 8'd1,
    SCHED_RR = 8'd2,
    SCHED_WRR = 8'd3
  } sched_e;
  typedef enum logic [7:0] {
    PROTO_TCP = 8'd6,
    PROTO_UDP = 8'd17,
    PROTO_ANY = 8'd0
  } proto_e;
  typedef enum logic [7:0] {
    BACKEND_STATE_ACTIVE = 8'd0,
    BACKEND_STATE_DRAIN = 8'd1,
    BACKEND_STATE_DOWN = 8'd2
  } backend_state_e;
  typedef enum logic [7:0] {
    TCP_STATE_NONE = 8'd0,
    TCP_STATE_SYN_SEEN = 8'd1,
    TCP_STATE_ESTABLISHED = 8'd2,
    TCP_STATE_CLOSING = 8'd3,
    TCP_STATE_CLOSED = 8'd4
  } tcp_state_e;
  typedef enum logic [7:0] {
    MISS_ACTION_PASS = 8'd0,
    MISS_ACTION_DROP = 8'd1
  } miss_action_e;

  // Entry layouts: byte offsets and lengths; integers are little-endian
  localparam int unsigned TOEPLITZ_KEY_LEN = 40;
  localparam int unsigned NAME_LEN = 32;
  localparam int unsigned CT_KEY_OFF = 0;
  localparam int unsigned CT_KEY_LEN = 37;

  // global (256 bytes)
  localparam int unsigned GLOBAL_LEN = 256;
  localparam int unsigned GLOBAL_TOEPLITZ_KEY_OFF = 0;
  localparam int unsigned GLOBAL_TOEPLITZ_KEY_LEN = 40;
  localparam int unsigned GLOBAL_DEVICE_MAC_OFF = 40;
  localparam int unsigned GLOBAL_DEVICE_MAC_LEN = 6;
  localparam int unsigned GLOBAL_GUE_PORT_OFF = 46;
  localparam int unsigned GLOBAL_GUE_PORT_LEN = 2;
  localparam int unsigned GLOBAL_TUN_SRC_V4_OFF = 48;
  localparam int unsigned GLOBAL_TUN_SRC_V4_LEN = 4;
  localparam int unsigned GLOBAL_TUN_SRC_V4_LEN_OFF = 52;
  localparam int unsigned GLOBAL_TUN_SRC_V4_LEN_LEN = 1;
  localparam int unsigned GLOBAL_TUN_SRC_V6_LEN_OFF = 53;
  localparam int unsigned GLOBAL_TUN_SRC_V6_LEN_LEN = 1;
  localparam int unsigned GLOBAL_VIP_COUNT_OFF = 54;
  localparam int unsigned GLOBAL_VIP_COUNT_LEN = 2;
  localparam int unsigned GLOBAL_TUN_SRC_V6_OFF = 56;
  localparam int unsigned GLOBAL_TUN_SRC_V6_LEN = 16;
  localparam int unsigned GLOBAL_TIMEOUT_TCP_SYN_OFF = 72;
  localparam int unsigned GLOBAL_TIMEOUT_TCP_SYN_LEN = 4;
  localparam int unsigned GLOBAL_TIMEOUT_TCP_EST_OFF = 76;
  localparam int unsigned GLOBAL_TIMEOUT_TCP_EST_LEN = 4;
  localparam int unsigned GLOBAL_TIMEOUT_TCP_FIN_OFF = 80;
  localparam int unsigned GLOBAL_TIMEOUT_TCP_FIN_LEN = 4;
  localparam int unsigned GLOBAL_TIMEOUT_UDP_OFF = 84;
  localparam int unsigned GLOBAL_TIMEOUT_UDP_LEN = 4;
  localparam int unsigned GLOBAL_BACKEND_COUNT_OFF = 88;
  localparam int unsigned GLOBAL_BACKEND_COUNT_LEN = 4;
  localparam int unsigned GLOBAL_MAX_FRAME_OFF = 92;
  localparam int unsigned GLOBAL_MAX_FRAME_LEN = 2;
  localparam int unsigned GLOBAL_GATEWAY_MAC_OFF = 94;
  localparam int unsigned GLOBAL_GATEWAY_MAC_LEN = 6;
  localparam int unsigned GLOBAL_ICMP_RATE_OFF = 100;
  localparam int unsigned GLOBAL_ICMP_RATE_LEN = 4;
  localparam int unsigned GLOBAL_ICMP_BURST_OFF = 104;
  localparam int unsigned GLOBAL_ICMP_BURST_LEN = 4;
  localparam int unsigned GLOBAL_IMAGE_ID_OFF = 108;
  localparam int unsigned GLOBAL_IMAGE_ID_LEN = 16;
  localparam int unsigned GLOBAL_PARENT_ID_OFF = 124;
  localparam int unsigned GLOBAL_PARENT_ID_LEN = 16;
  localparam int unsigned GLOBAL_RESERVED_OFF = 140;
  localparam int unsigned GLOBAL_RESERVED_LEN = 116;
  localparam int unsigned GLOBAL_BITS = 2048;
  typedef struct packed {
    logic [927:0] reserved; // bytes 140..256, bits [2047:1120], zero
    logic [15:0][7:0] parent_id; // bytes 124..140, bits [1119:992], bytes
    logic [15:0][7:0] image_id; // bytes 108..124, bits [991:864], bytes
    logic [31:0] icmp_burst; // bytes 104..108, bits [863:832]
    logic [31:0] icmp_rate; // bytes 100..104, bits [831:800]
    logic [5:0][7:0] gateway_mac; // bytes 94..100, bits [799:752], bytes
    logic [15:0] max_frame; // bytes 92..94, bits [751:736]
    logic [31:0] backend_count; // bytes 88..92, bits [735:704]
    logic [31:0] timeout_udp; // bytes 84..88, bits [703:672]
    logic [31:0] timeout_tcp_fin; // bytes 80..84, bits [671:640]
    logic [31:0] timeout_tcp_est; // bytes 76..80, bits [639:608]
    logic [31:0] timeout_tcp_syn; // bytes 72..76, bits [607:576]
    logic [15:0][7:0] tun_src_v6; // bytes 56..72, bits [575:448], bytes
    logic [15:0] vip_count; // bytes 54..56, bits [447:432]
    logic [7:0] tun_src_v6_len; // bytes 53..54, bits [431:424]
    logic [7:0] tun_src_v4_len; // bytes 52..53, bits [423:416]
    logic [3:0][7:0] tun_src_v4; // bytes 48..52, bits [415:384], bytes
    logic [15:0] gue_port; // bytes 46..48, bits [383:368]
    logic [5:0][7:0] device_mac; // bytes 40..46, bits [367:320], bytes
    logic [39:0][7:0] toeplitz_key; // bytes 0..40, bits [319:0], bytes
  } global_t;

  // vip (64 bytes)
  localparam int unsigned VIP_LEN = 64;
  localparam int unsigned VIP_ADDR_OFF = 0;
  localparam int unsigned VIP_ADDR_LEN = 16;
  localparam int unsigned VIP_PORT_OFF = 16;
  localparam int unsigned VIP_PORT_LEN = 2;
  localparam int unsigned VIP_PROTO_OFF = 18;
  localparam int unsigned VIP_PROTO_LEN = 1;
  localparam int unsigned VIP_FLAGS_OFF = 19;
  localparam int unsigned VIP_FLAGS_LEN = 1;
  localparam int unsigned VIP_MODE_OFF = 20;
  localparam int unsigned VIP_MODE_LEN = 1;
  localparam int unsigned VIP_SCHED_OFF = 21;
  localparam int unsigned VIP_SCHED_LEN = 1;
  localparam int unsigned VIP_BACKEND_COUNT_OFF = 22;
  localparam int unsigned VIP_BACKEND_COUNT_LEN = 2;
  localparam int unsigned VIP_BACKEND_BASE_OFF = 24;
  localparam int unsigned VIP_BACKEND_BASE_LEN = 4;
  localparam int unsigned VIP_LUT_BASE_OFF = 28;
  localparam int unsigned VIP_LUT_BASE_LEN = 4;
  localparam int unsigned VIP_LUT_SIZE_OFF = 32;
  localparam int unsigned VIP_LUT_SIZE_LEN = 4;
  localparam int unsigned VIP_RESERVED_OFF = 36;
  localparam int unsigned VIP_RESERVED_LEN = 28;
  localparam int unsigned VIP_FLAG_VALID = 32'h00000001;
  localparam int unsigned VIP_FLAG_V6 = 32'h00000002;
  localparam int unsigned VIP_BITS = 512;
  typedef struct packed {
    logic [223:0] reserved; // bytes 36..64, bits [511:288], zero
    logic [31:0] lut_size; // bytes 32..36, bits [287:256]
    logic [31:0] lut_base; // bytes 28..32, bits [255:224]
    logic [31:0] backend_base; // bytes 24..28, bits [223:192]
    logic [15:0] backend_count; // bytes 22..24, bits [191:176]
    logic [7:0] sched; // bytes 21..22, bits [175:168]
    logic [7:0] mode; // bytes 20..21, bits [167:160]
    logic [7:0] flags; // bytes 19..20, bits [159:152]
    logic [7:0] proto; // bytes 18..19, bits [151:144]
    logic [15:0] port; // bytes 16..18, bits [143:128]
    logic [15:0][7:0] addr; // bytes 0..16, bits [127:0], bytes
  } vip_t;

  // backend (32 bytes)
  localparam int unsigned BACKEND_LEN = 32;
  localparam int unsigned BACKEND_ADDR_OFF = 0;
  localparam int unsigned BACKEND_ADDR_LEN = 16;
  localparam int unsigned BACKEND_MAC_OFF = 16;
  localparam int unsigned BACKEND_MAC_LEN = 6;
  localparam int unsigned BACKEND_PORT_OFF = 22;
  localparam int unsigned BACKEND_PORT_LEN = 2;
  localparam int unsigned BACKEND_WEIGHT_OFF = 24;
  localparam int unsigned BACKEND_WEIGHT_LEN = 4;
  localparam int unsigned BACKEND_FLAGS_OFF = 28;
  localparam int unsigned BACKEND_FLAGS_LEN = 1;
  localparam int unsigned BACKEND_STATE_OFF = 29;
  localparam int unsigned BACKEND_STATE_LEN = 1;
  localparam int unsigned BACKEND_VIP_OFF = 30;
  localparam int unsigned BACKEND_VIP_LEN = 2;
  localparam int unsigned BACKEND_FLAG_VALID = 32'h00000001;
  localparam int unsigned BACKEND_FLAG_V6 = 32'h00000002;
  localparam int unsigned BACKEND_BITS = 256;
  typedef struct packed {
    logic [15:0] vip; // bytes 30..32, bits [255:240]
    logic [7:0] state; // bytes 29..30, bits [239:232]
    logic [7:0] flags; // bytes 28..29, bits [231:224]
    logic [31:0] weight; // bytes 24..28, bits [223:192]
    logic [15:0] port; // bytes 22..24, bits [191:176]
    logic [5:0][7:0] mac; // bytes 16..22, bits [175:128], bytes
    logic [15:0][7:0] addr; // bytes 0..16, bits [127:0], bytes
  } backend_t;

  // ct_way (64 bytes)
  localparam int unsigned CT_WAY_LEN = 64;
  localparam int unsigned CT_WAY_SRC_OFF = 0;
  localparam int unsigned CT_WAY_SRC_LEN = 16;
  localparam int unsigned CT_WAY_DST_OFF = 16;
  localparam int unsigned CT_WAY_DST_LEN = 16;
  localparam int unsigned CT_WAY_SRC_PORT_OFF = 32;
  localparam int unsigned CT_WAY_SRC_PORT_LEN = 2;
  localparam int unsigned CT_WAY_DST_PORT_OFF = 34;
  localparam int unsigned CT_WAY_DST_PORT_LEN = 2;
  localparam int unsigned CT_WAY_PROTO_OFF = 36;
  localparam int unsigned CT_WAY_PROTO_LEN = 1;
  localparam int unsigned CT_WAY_FLAGS_OFF = 37;
  localparam int unsigned CT_WAY_FLAGS_LEN = 1;
  localparam int unsigned CT_WAY_TCP_STATE_OFF = 38;
  localparam int unsigned CT_WAY_TCP_STATE_LEN = 1;
  localparam int unsigned CT_WAY_RESERVED0_OFF = 39;
  localparam int unsigned CT_WAY_RESERVED0_LEN = 1;
  localparam int unsigned CT_WAY_BACKEND_OFF = 40;
  localparam int unsigned CT_WAY_BACKEND_LEN = 2;
  localparam int unsigned CT_WAY_VIP_OFF = 42;
  localparam int unsigned CT_WAY_VIP_LEN = 2;
  localparam int unsigned CT_WAY_LAST_SEEN_OFF = 44;
  localparam int unsigned CT_WAY_LAST_SEEN_LEN = 4;
  localparam int unsigned CT_WAY_CREATED_OFF = 48;
  localparam int unsigned CT_WAY_CREATED_LEN = 4;
  localparam int unsigned CT_WAY_PACKETS_OFF = 52;
  localparam int unsigned CT_WAY_PACKETS_LEN = 4;
  localparam int unsigned CT_WAY_BYTES_OFF = 56;
  localparam int unsigned CT_WAY_BYTES_LEN = 8;
  localparam int unsigned CT_WAY_FLAG_VALID = 32'h00000001;
  localparam int unsigned CT_WAY_FLAG_V6 = 32'h00000002;
  localparam int unsigned CT_WAY_FLAG_REVERSE = 32'h00000004;
  localparam int unsigned CT_WAY_FLAG_FRAG = 32'h00000008;
  localparam int unsigned CT_WAY_BITS = 512;
  typedef struct packed {
    logic [63:0] bytes; // bytes 56..64, bits [511:448]
    logic [31:0] packets; // bytes 52..56, bits [447:416]
    logic [31:0] created; // bytes 48..52, bits [415:384]
    logic [31:0] last_seen; // bytes 44..48, bits [383:352]
    logic [15:0] vip; // bytes 42..44, bits [351:336]
    logic [15:0] backend; // bytes 40..42, bits [335:320]
    logic [7:0] reserved0; // bytes 39..40, bits [319:312], zero
    logic [7:0] tcp_state; // bytes 38..39, bits [311:304]
    logic [7:0] flags; // bytes 37..38, bits [303:296]
    logic [7:0] proto; // bytes 36..37, bits [295:288]
    logic [15:0] dst_port; // bytes 34..36, bits [287:272]
    logic [15:0] src_port; // bytes 32..34, bits [271:256]
    logic [15:0][7:0] dst; // bytes 16..32, bits [255:128], bytes
    logic [15:0][7:0] src; // bytes 0..16, bits [127:0], bytes
  } ct_way_t;

endpackage
/* verilator lint_on UNUSEDPARAM */
