// The pipeline's internal descriptors: what one stage hands the next about a
// packet. They mirror the Rust model's types field for field and by name
// (hw_model::packet::Parsed / Inner, hw_model::pipeline::Meta / Class /
// Decision), so a testbench can compare a stage's output with the model's.
// Not contract: entry layouts and constants come from lbnic_pkg (generated);
// nothing here restates an offset of a table or register.
//
// Addresses are logic [15:0][7:0], element k = octet k, IPv4 mapped
// (::ffff:a.b.c.d), MACs logic [5:0][7:0], as in lbnic_pkg. (Yosys 0.23
// takes no typedef of a multi-dimensional packed array, so they are
// spelled out.)
/* verilator lint_off UNUSEDPARAM */
package lbnic_pipe_pkg;

  // The bytes of a frame the parser sees (spec §12.1.1; headers that end
  // past them are `ext_header_chain`) are the contract's
  // lbnic_pkg::PARSE_WINDOW: not restated here (Yosys 0.23 cannot read one
  // package's constant from another).

  // hw_model::packet::Frag
  typedef enum logic [1:0] {
    FRAG_NONE  = 2'd0,
    FRAG_FIRST = 2'd1,
    FRAG_LATER = 2'd2
  } frag_e;

  // What parse decided: a parsed packet, a well-formed frame that is not
  // load-balancer traffic (no-VIP path), or a parse error with its
  // lbnic_contract ParseReason code (counter PARSE_ERRORS + 8 * reason).
  typedef enum logic [1:0] {
    PARSE_OK     = 2'd0,
    PARSE_NOT_LB = 2'd1,
    PARSE_ERROR  = 2'd2
  } parse_status_e;

  // ParseReason, in the contract's order.
  typedef enum logic [2:0] {
    REASON_TRUNCATED       = 3'd0,
    REASON_BAD_IP_VERSION  = 3'd1,
    REASON_BAD_IHL         = 3'd2,
    REASON_BAD_LENGTH      = 3'd3,
    REASON_EXT_HEADER_CHAIN = 3'd4,
    REASON_BAD_UDP_LENGTH  = 3'd5,
    REASON_BAD_TCP_OFFSET  = 3'd6,
    REASON_BAD_INNER       = 3'd7
  } parse_reason_e;

  // hw_model::packet::Inner: the flow an ICMP error quotes.
  typedef struct packed {
    logic [15:0][7:0] src;
    logic [15:0][7:0] dst;
    logic [7:0]  proto;
    logic [15:0] sport;
    logic [15:0] dport;
    // From the quoted IP header to its TCP/UDP header.
    logic [13:0] l4_offset;
  } inner_t;

  // hw_model::packet::Parsed, plus the parse outcome.
  typedef struct packed {
    parse_status_e status;
    parse_reason_e reason;      // valid when status == PARSE_ERROR
    logic [5:0][7:0] dst_mac;
    logic [5:0][7:0] src_mac;
    logic        vlan_valid;
    logic [15:0] vlan;          // outer tag's TCI
    logic [13:0] l2_len;
    logic [13:0] l3_offset;
    logic        ipv6;
    logic [15:0][7:0] src;
    logic [15:0][7:0] dst;
    logic [7:0]  proto;
    logic [15:0] l3_len;
    logic [13:0] l4_offset;
    frag_e       frag;
    logic [31:0] frag_id;
    logic [15:0] sport;
    logic [15:0] dport;
    logic [7:0]  tcp_flags;
    logic        icmp_error_valid;
    inner_t      icmp_error;
    // The IP header's TOS byte (IPv6: traffic class) and DF flag (IPv6:
    // 1), which a tunnel copies to its outer header (REWRITE).
    logic [7:0]  tos;
    logic        df;
  } parsed_t;

  // lbnic_contract::target::ct::CtKey: the 5-tuple an entry is stored under,
  // with the family and the fragment-entry flag.
  typedef struct packed {
    logic [15:0][7:0] src;
    logic [15:0][7:0] dst;
    logic [15:0] sport;
    logic [15:0] dport;
    logic [7:0]  proto;
    logic        v6;
    logic        frag;
  } ct_key_t;

  // hw_model::pipeline::Class
  typedef enum logic [2:0] {
    CLASS_NO_VIP      = 3'd0,
    CLASS_PARSE_ERROR = 3'd1,
    CLASS_BYPASS      = 3'd2,
    CLASS_VIP         = 3'd3,
    CLASS_FRAGMENT    = 3'd4,
    CLASS_REVERSE     = 3'd5
  } class_e;

  // hw_model::pipeline::Meta with its Class flattened: which fields are
  // meaningful depends on `class_kind`, as in the Rust enum.
  typedef struct packed {
    class_e      class_kind;
    logic        slot_valid;    // Fragment: None when several VIPs share it
    logic [15:0] slot;
    ct_key_t     key;
    logic [31:0] hash;
    logic [31:0] bucket_a;
    logic [31:0] bucket_b;
    logic        stateless;     // Vip: an ICMP error, never inserts
    logic [7:0]  tcp_flags;
    logic [15:0] len;           // frame length
    logic [31:0] now;           // device time at ingress, ticks
  } meta_t;

  // hw_model::pipeline::Decision
  typedef enum logic [1:0] {
    DECISION_PASS        = 2'd0,
    DECISION_DROP        = 2'd1,
    DECISION_FORWARD     = 2'd2,
    DECISION_REVERSE_NAT = 2'd3
  } decision_e;

  typedef struct packed {
    decision_e   kind;
    // DROP: the counter, as its index (register offset - REG_COUNTERS) / 8.
    logic [7:0]  drop_counter;
    logic [15:0] slot;
    logic [15:0] local_index;   // Rust `local` (a SystemVerilog keyword)
    logic [31:0] hash;
  } decision_t;

endpackage
