// COMMIT (docs/spec.md §4): on the doorbell, check STAGED_LEN, read the
// INACTIVE bank word by word through lbnic_bank's scan port into
// lbnic_crc32c (8-byte beats, one per clock: bank_len / 8 clocks), check
// the CRC against STAGED_CRC and validate the tables as they stream by;
// then swap banks at a packet boundary and publish the result.
//
// Result order as the model's: STAGED_LEN != bank_len -> BAD_LEN (no scan);
// CRC mismatch -> BAD_CRC; a table check failed -> BAD_TABLE; else OK.
// The hardware's table checks (spec §4, "What COMMIT validates") are those
// that keep every pipeline index in range:
//   GLOBAL vip_count <= MAX_VIPS;
//   every valid VIP (flags VALID): proto, mode and sched are known codes,
//   backend_base + backend_count <= MAX_BACKENDS,
//   backend_count <= MAX_BACKENDS_PER_VIP,
//   lut_base + lut_size <= LUT_ENTRIES.
// The rest of the model's Bank::decode_raw checks are left to the host.
//
// Swap handshake: after a passing check the unit waits with swap_pend high
// until swap_ok (the pipeline's entry: no packet is between admission and
// its last GLOBAL/VIP read; a packet carries the bank it was admitted
// with for its BACKEND/LUT reads). In the clock swap_ok is seen,
// active_bank flips (registered: it changes the next clock), ACTIVE_GEN is
// set, COMMIT_RESULT = OK, COMMIT_SEQ += 1. A refused commit changes only
// COMMIT_RESULT and COMMIT_SEQ. busy (STATUS.COMMIT_BUSY) is high from the
// doorbell until COMMIT_SEQ moves; a doorbell while busy is ignored.
module lbnic_commit #(
    parameter int unsigned MAX_VIPS = lbnic_pkg::TARGET_MAX_VIPS,
    parameter int unsigned MAX_BACKENDS = lbnic_pkg::TARGET_MAX_BACKENDS,
    parameter int unsigned LUT_ENTRIES = lbnic_pkg::TARGET_LUT_ENTRIES,
    parameter int unsigned LUT_ENTRY_BITS = lbnic_pkg::TARGET_LUT_ENTRY_BITS,
    localparam logic [63:0] AL = 64'(lbnic_pkg::SECTION_ALIGN),
    localparam logic [63:0] VIP_BASE = (64'(lbnic_pkg::GLOBAL_LEN) + AL - 1) / AL * AL,
    localparam logic [63:0] BE_BASE =
        (VIP_BASE + 64'(MAX_VIPS) * lbnic_pkg::VIP_LEN + AL - 1) / AL * AL,
    localparam logic [63:0] LUT_BASE =
        (BE_BASE + 64'(MAX_BACKENDS) * lbnic_pkg::BACKEND_LEN + AL - 1) / AL * AL,
    localparam logic [63:0] LUT_BYTES = (64'(LUT_ENTRIES) * LUT_ENTRY_BITS + 7) / 8,
    localparam logic [63:0] BANK_LEN = (LUT_BASE + LUT_BYTES + AL - 1) / AL * AL,
    localparam int unsigned BANK_WORDS = 32'(BANK_LEN / 8),
    localparam int unsigned WAW = $clog2(BANK_WORDS)
) (
    input  logic           clk,
    input  logic           rst,
    input  logic           doorbell,
    input  logic [63:0]    staged_gen,
    input  logic [31:0]    staged_len,
    input  logic [31:0]    staged_crc,
    // lbnic_bank scan port
    output logic           scan_en,
    output logic           scan_bank,
    output logic [WAW-1:0] scan_word,
    input  logic           scan_rvalid,
    input  logic [63:0]    scan_rdata,
    // pipeline entry
    output logic           swap_pend,
    input  logic           swap_ok,
    // published state
    output logic           active_bank,
    output logic [63:0]    active_gen,
    output logic [31:0]    commit_result,
    output logic [31:0]    commit_seq,
    output logic           busy,
    output logic           commit_ok,
    output logic           commit_err
);
  localparam int unsigned GW = lbnic_pkg::GLOBAL_LEN / 8;
  localparam logic [WAW-1:0] VIP_W0 = WAW'(VIP_BASE / 8);
  localparam logic [WAW-1:0] VIP_W1 = WAW'(VIP_BASE / 8 + MAX_VIPS * 8);
  localparam int unsigned PER_VIP = ((1 << LUT_ENTRY_BITS) < MAX_BACKENDS) ? (1 << LUT_ENTRY_BITS) : MAX_BACKENDS;

  typedef enum logic [1:0] {
    IDLE,
    SCAN,
    CHECK,
    SWAP
  } state_e;
  state_e         st;
  logic [63:0]    gen;
  logic [31:0]    crc_want;
  logic [WAW-1:0] rcount;
  logic           bad;
  logic [1983:0]  gsh;  // GLOBAL words so far, the oldest at the bottom
  logic [447:0]   vsh;  // the last 7 words
  logic           crc_valid;
  logic [31:0]    crc;

  lbnic_crc32c #(.DATA_BYTES(8)) u_crc (
      .clk,
      .rst,
      .s_axis_tdata(scan_rdata),
      .s_axis_tkeep(8'hff),
      .s_axis_tvalid(scan_rvalid),
      .s_axis_tlast(rcount == WAW'(BANK_WORDS - 1)),
      .s_axis_tready(crc_tready),
      .out_valid(crc_valid),
      .out_crc(crc)
  );

  // The checks, on the word arriving now and the ones before it.
  // (only the checked fields are used)
  /* verilator lint_off UNUSEDSIGNAL */
  lbnic_pkg::global_t g;
  lbnic_pkg::vip_t    v;
  logic               crc_tready;  // always 1
  /* verilator lint_on UNUSEDSIGNAL */
  logic               g_bad, v_bad;
  assign g = {scan_rdata, gsh};
  assign v = {scan_rdata, vsh};
  always_comb begin
    g_bad = 32'(g.vip_count) > MAX_VIPS;
    v_bad = 1'b0;
    if ((32'(v.flags) & lbnic_pkg::VIP_FLAG_VALID) != 0) begin
      if (v.proto != lbnic_pkg::PROTO_TCP && v.proto != lbnic_pkg::PROTO_UDP && v.proto != lbnic_pkg::PROTO_ANY)
        v_bad = 1'b1;
      if (v.mode > lbnic_pkg::MODE_NAT) v_bad = 1'b1;
      if (v.sched > lbnic_pkg::SCHED_WRR) v_bad = 1'b1;
      if (33'(v.backend_base) + 33'(v.backend_count) > 33'(MAX_BACKENDS)) v_bad = 1'b1;
      if (32'(v.backend_count) > PER_VIP) v_bad = 1'b1;
      if (33'(v.lut_base) + 33'(v.lut_size) > 33'(LUT_ENTRIES)) v_bad = 1'b1;
    end
  end

  // scan_en is st == SCAN, kept in a register of its own: decoded from st
  // it was a LUT level in front of the bank's write enables (9 levels from
  // st into the LUT memory's URAMs, issue 13)
  assign swap_pend = st == SWAP;
  assign busy = st != IDLE;

  always_ff @(posedge clk) begin
    commit_ok  <= 1'b0;
    commit_err <= 1'b0;
    if (scan_rvalid) begin
      gsh <= {scan_rdata, gsh[1983:64]};
      vsh <= {scan_rdata, vsh[447:64]};
      rcount <= rcount + 1'b1;
      if (rcount == WAW'(GW - 1) && g_bad) bad <= 1'b1;
      if (rcount >= VIP_W0 && rcount < VIP_W1 && rcount[2:0] == 3'd7 && v_bad) bad <= 1'b1;
    end
    if (rst) begin
      st            <= IDLE;
      scan_en       <= 1'b0;
      active_bank   <= 1'b0;
      active_gen    <= '0;
      commit_result <= lbnic_pkg::COMMIT_RESULT_NONE;
      commit_seq    <= '0;
      scan_word     <= '0;
      scan_bank     <= 1'b1;
    end else begin
      case (st)
        IDLE:
        if (doorbell) begin
          gen       <= staged_gen;
          crc_want  <= staged_crc;
          scan_bank <= !active_bank;
          scan_word <= '0;
          rcount    <= '0;
          bad       <= 1'b0;
          if (64'(staged_len) != BANK_LEN) begin
            commit_result <= lbnic_pkg::COMMIT_RESULT_BAD_LEN;
            commit_seq    <= commit_seq + 1'b1;
            commit_err    <= 1'b1;
          end else begin
            st      <= SCAN;
            scan_en <= 1'b1;
          end
        end
        SCAN: begin
          scan_word <= scan_word + 1'b1;
          if (scan_word == WAW'(BANK_WORDS - 1)) begin
            st      <= CHECK;
            scan_en <= 1'b0;
          end
        end
        CHECK:
        if (crc_valid) begin
          if (crc != crc_want || bad) begin
            commit_result <= crc != crc_want ? lbnic_pkg::COMMIT_RESULT_BAD_CRC : lbnic_pkg::COMMIT_RESULT_BAD_TABLE;
            commit_seq    <= commit_seq + 1'b1;
            commit_err    <= 1'b1;
            st            <= IDLE;
          end else st <= SWAP;
        end
        SWAP:
        if (swap_ok) begin
          active_bank   <= !active_bank;
          active_gen    <= gen;
          commit_result <= lbnic_pkg::COMMIT_RESULT_OK;
          commit_seq    <= commit_seq + 1'b1;
          commit_ok     <= 1'b1;
          st            <= IDLE;
        end
        default: begin
          st      <= IDLE;
          scan_en <= 1'b0;
        end
      endcase
    end
  end
endmodule
