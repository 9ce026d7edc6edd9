// The register block (docs/spec.md §3) as an AXI4-Lite slave, 32-bit data,
// byte offsets from lbnic_pkg::REG_* (12 address bits: the 4 KiB block).
//
// AXI4-Lite: a write is taken when AW and W are both valid and no response
// is pending (wstrb is ignored: registers are written whole, as the host
// does); a read is answered the clock after AR with the value of that
// clock. Unmapped offsets read 0 and ignore writes (OKAY).
//
// CONTROL: ENABLE and CT_HOST are plain bits (ctl_enable, ctl_ct_host).
// Writing RESET (bit 1) clears the counters at once, pulses reset_req one
// clock, and reads back as set until reset_done (the pipeline's pulse that
// its state and conntrack are cleared): self-clearing. RESET also ends a
// CT_FLUSH (as in the model). CT_FLUSH (bit 2) likewise pulses
// ct_flush_req and reads as set until ct_flush_done.
//
// COMMIT: writing lbnic_pkg::COMMIT_MAGIC pulses commit_doorbell one clock
// (other values are ignored; COMMIT reads 0). STAGED_* are plain RW
// registers given to lbnic_commit; ACTIVE_*, COMMIT_RESULT, COMMIT_SEQ and
// STATUS.COMMIT_BUSY come from it, and its commit_ok / commit_err strobes
// count `commits` / `commit_errors`.
//
// Counters: cnt_add carries, for each counter i (lbnic_pkg::COUNTER_*
// order, index = (offset - COUNTER_RX_PACKETS) / 8), the amount to add this
// clock in CNT_AMT_BITS bits (0: nothing): 1 for a packet counter, the
// frame length for a byte counter. Several counters may move in one clock.
// The amounts are registered before the 64-bit adds (a clock later in the
// counters; the callers' sums and the adds' carry chains in one clock were
// 13 LUT levels); a RESET clears them with the counters, so an amount of
// the clock before it is not counted after it. cnt_clear is the RESET's
// clock, for a caller that registers an amount itself.
// The lanes of `commits` and `commit_errors` are ignored (counted here).
// parse_inc[r] adds 1 to parse-error counter r (PARSE_ERROR_* order). All
// are 64 bits, read LO/HI without side effects (a host reads HI, LO, HI).
//
// HEARTBEAT increments every microsecond (CLOCK_MHZ clocks). NOW counts
// conntrack ticks: one every CLOCK_MHZ * CT_TICK_US clocks from reset.
module lbnic_regs #(
    parameter int unsigned CLOCK_MHZ = lbnic_pkg::TARGET_CLOCK_MHZ,
    parameter int unsigned CT_TICK_US = lbnic_pkg::TARGET_CT_TICK_US,
    parameter logic [63:0] FINGERPRINT = lbnic_pkg::TARGET_FINGERPRINT,
    parameter int unsigned CNT_AMT_BITS = 16,
    localparam int unsigned NC = lbnic_pkg::COUNTER_COUNT,
    localparam int unsigned NP = lbnic_pkg::PARSE_REASON_COUNT
) (
    input  logic                     clk,
    input  logic                     rst,
    // AXI4-Lite slave
    input  logic [11:0]              s_axi_awaddr,
    input  logic                     s_axi_awvalid,
    output logic                     s_axi_awready,
    input  logic [31:0]              s_axi_wdata,
    input  logic [3:0]               s_axi_wstrb,
    input  logic                     s_axi_wvalid,
    output logic                     s_axi_wready,
    output logic [1:0]               s_axi_bresp,
    output logic                     s_axi_bvalid,
    input  logic                     s_axi_bready,
    input  logic [11:0]              s_axi_araddr,
    input  logic                     s_axi_arvalid,
    output logic                     s_axi_arready,
    output logic [31:0]              s_axi_rdata,
    output logic [1:0]               s_axi_rresp,
    output logic                     s_axi_rvalid,
    input  logic                     s_axi_rready,
    // CONTROL / STATUS
    output logic                     ctl_enable,
    output logic                     ctl_ct_host,
    output logic                     reset_req,
    input  logic                     reset_done,
    output logic                     ct_flush_req,
    input  logic                     ct_flush_done,
    input  logic                     ct_host_ack,
    // COMMIT (lbnic_commit)
    output logic [63:0]              staged_gen,
    output logic [31:0]              staged_len,
    output logic [31:0]              staged_crc,
    output logic                     commit_doorbell,
    input  logic                     commit_busy,
    input  logic                     active_bank,
    input  logic [63:0]              active_gen,
    input  logic [31:0]              commit_result,
    input  logic [31:0]              commit_seq,
    input  logic                     commit_ok,
    input  logic                     commit_err,
    // counters
    input  logic [NC*CNT_AMT_BITS-1:0] cnt_add,
    output logic                     cnt_clear,
    input  logic [NP-1:0]            parse_inc,
    // device time, conntrack ticks (the pipeline's clock for conntrack)
    output logic [63:0]              now
);
  localparam int unsigned TICK_CLOCKS = CLOCK_MHZ * CT_TICK_US;
  localparam int unsigned IDX_COMMITS = (lbnic_pkg::COUNTER_COMMITS - lbnic_pkg::COUNTER_RX_PACKETS) / 8;
  localparam int unsigned IDX_COMMIT_ERRORS =
      (lbnic_pkg::COUNTER_COMMIT_ERRORS - lbnic_pkg::COUNTER_RX_PACKETS) / 8;

  logic        r_enable, r_reset, r_flush, r_ct_host;
  logic [31:0] r_scratch, r_heartbeat;
  logic [31:0] us_cnt, tick_cnt;
  logic [63:0] cnt[NC];
  logic [63:0] pcnt[NP];

  assign ctl_enable  = r_enable;
  assign ctl_ct_host = r_ct_host;

  // ---- AXI4-Lite write
  logic wr;
  assign s_axi_awready = s_axi_awvalid && s_axi_wvalid && !s_axi_bvalid;
  assign s_axi_wready  = s_axi_awready;
  assign s_axi_bresp   = 2'b00;
  assign wr            = s_axi_awready;
  wire [11:0] wa = {s_axi_awaddr[11:2], 2'b00};
  wire ctl_wr = wr && wa == 12'(lbnic_pkg::REG_CONTROL);
  wire reset_wr = ctl_wr && (s_axi_wdata & lbnic_pkg::CONTROL_RESET) != 0;
  wire flush_wr = ctl_wr && (s_axi_wdata & lbnic_pkg::CONTROL_CT_FLUSH) != 0;

  always_ff @(posedge clk) begin
    if (rst) s_axi_bvalid <= 1'b0;
    else if (wr) s_axi_bvalid <= 1'b1;
    else if (s_axi_bready) s_axi_bvalid <= 1'b0;
  end

  always_ff @(posedge clk) begin
    reset_req       <= 1'b0;
    ct_flush_req    <= 1'b0;
    commit_doorbell <= 1'b0;
    if (rst) begin
      r_enable   <= 1'b0;
      r_reset    <= 1'b0;
      r_flush    <= 1'b0;
      r_ct_host  <= 1'b0;
      r_scratch  <= '0;
      staged_gen <= '0;
      staged_len <= '0;
      staged_crc <= '0;
    end else begin
      if (reset_done) r_reset <= 1'b0;
      if (ct_flush_done || reset_done) r_flush <= 1'b0;
      if (wr) begin
        case (wa)
          12'(lbnic_pkg::REG_CONTROL): begin
            r_enable  <= (s_axi_wdata & lbnic_pkg::CONTROL_ENABLE) != 0;
            r_ct_host <= (s_axi_wdata & lbnic_pkg::CONTROL_CT_HOST) != 0;
            if (reset_wr) begin
              r_reset   <= 1'b1;
              reset_req <= 1'b1;
            end else if (flush_wr) begin
              r_flush      <= 1'b1;
              ct_flush_req <= 1'b1;
            end
          end
          12'(lbnic_pkg::REG_SCRATCH):      r_scratch <= s_axi_wdata;
          12'(lbnic_pkg::REG_STAGED_GEN_LO): staged_gen[31:0] <= s_axi_wdata;
          12'(lbnic_pkg::REG_STAGED_GEN_HI): staged_gen[63:32] <= s_axi_wdata;
          12'(lbnic_pkg::REG_STAGED_LEN):   staged_len <= s_axi_wdata;
          12'(lbnic_pkg::REG_STAGED_CRC):   staged_crc <= s_axi_wdata;
          12'(lbnic_pkg::REG_COMMIT):
            if (s_axi_wdata == lbnic_pkg::COMMIT_MAGIC) commit_doorbell <= 1'b1;
          default: ;
        endcase
      end
    end
  end

  // ---- time
  always_ff @(posedge clk) begin
    if (rst) begin
      us_cnt      <= '0;
      tick_cnt    <= '0;
      r_heartbeat <= '0;
      now         <= '0;
    end else begin
      if (us_cnt == CLOCK_MHZ - 1) begin
        us_cnt      <= '0;
        r_heartbeat <= r_heartbeat + 1'b1;
      end else us_cnt <= us_cnt + 1'b1;
      if (tick_cnt == TICK_CLOCKS - 1) begin
        tick_cnt <= '0;
        now      <= now + 1'b1;
      end else tick_cnt <= tick_cnt + 1'b1;
    end
  end

  // ---- counters
  logic [NC*CNT_AMT_BITS-1:0] cnt_add_q;
  assign cnt_clear = reset_wr;
  always_ff @(posedge clk) begin
    if (rst || reset_wr) cnt_add_q <= '0;
    else cnt_add_q <= cnt_add;
    for (int i = 0; i < NC; i++) begin
      if (rst || reset_wr) cnt[i] <= '0;
      else if (i == IDX_COMMITS) cnt[i] <= cnt[i] + {63'd0, commit_ok};
      else if (i == IDX_COMMIT_ERRORS) cnt[i] <= cnt[i] + {63'd0, commit_err};
      else cnt[i] <= cnt[i] + {{(64 - CNT_AMT_BITS) {1'b0}}, cnt_add_q[i*CNT_AMT_BITS+:CNT_AMT_BITS]};
    end
    for (int r = 0; r < NP; r++) begin
      if (rst || reset_wr) pcnt[r] <= '0;
      else pcnt[r] <= pcnt[r] + {63'd0, parse_inc[r]};
    end
  end

  // ---- AXI4-Lite read
  wire [11:0] ra = {s_axi_araddr[11:2], 2'b00};
  logic [31:0] rmux;
  always_comb begin
    rmux = '0;
    case (ra)
      12'(lbnic_pkg::REG_ID):             rmux = lbnic_pkg::ID_MAGIC;
      12'(lbnic_pkg::REG_VERSION):        rmux = lbnic_pkg::CONTRACT_VERSION;
      12'(lbnic_pkg::REG_FINGERPRINT_LO): rmux = FINGERPRINT[31:0];
      12'(lbnic_pkg::REG_FINGERPRINT_HI): rmux = FINGERPRINT[63:32];
      12'(lbnic_pkg::REG_CONTROL):
        rmux = (r_enable ? lbnic_pkg::CONTROL_ENABLE : 0) | (r_reset ? lbnic_pkg::CONTROL_RESET : 0)
             | (r_flush ? lbnic_pkg::CONTROL_CT_FLUSH : 0) | (r_ct_host ? lbnic_pkg::CONTROL_CT_HOST : 0);
      12'(lbnic_pkg::REG_STATUS):
        rmux = lbnic_pkg::STATUS_READY | (commit_busy ? lbnic_pkg::STATUS_COMMIT_BUSY : 0)
             | (r_enable ? lbnic_pkg::STATUS_RUNNING : 0) | (ct_host_ack ? lbnic_pkg::STATUS_CT_HOST_ACK : 0);
      12'(lbnic_pkg::REG_SCRATCH):        rmux = r_scratch;
      12'(lbnic_pkg::REG_HEARTBEAT):      rmux = r_heartbeat;
      12'(lbnic_pkg::REG_STAGED_GEN_LO):  rmux = staged_gen[31:0];
      12'(lbnic_pkg::REG_STAGED_GEN_HI):  rmux = staged_gen[63:32];
      12'(lbnic_pkg::REG_STAGED_LEN):     rmux = staged_len;
      12'(lbnic_pkg::REG_STAGED_CRC):     rmux = staged_crc;
      12'(lbnic_pkg::REG_ACTIVE_BANK):    rmux = {31'd0, active_bank};
      12'(lbnic_pkg::REG_ACTIVE_GEN_LO):  rmux = active_gen[31:0];
      12'(lbnic_pkg::REG_ACTIVE_GEN_HI):  rmux = active_gen[63:32];
      12'(lbnic_pkg::REG_COMMIT_RESULT):  rmux = commit_result;
      12'(lbnic_pkg::REG_COMMIT_SEQ):     rmux = commit_seq;
      12'(lbnic_pkg::REG_NOW_LO):         rmux = now[31:0];
      12'(lbnic_pkg::REG_NOW_HI):         rmux = now[63:32];
      default: begin
        for (int i = 0; i < NC; i++)
          if (ra[11:3] == 9'((lbnic_pkg::COUNTER_RX_PACKETS + 8 * i) >> 3))
            rmux = ra[2] ? cnt[i][63:32] : cnt[i][31:0];
        for (int r = 0; r < NP; r++)
          if (ra[11:3] == 9'((lbnic_pkg::PARSE_ERROR_TRUNCATED + 8 * r) >> 3))
            rmux = ra[2] ? pcnt[r][63:32] : pcnt[r][31:0];
      end
    endcase
  end

  assign s_axi_arready = !s_axi_rvalid;
  assign s_axi_rresp   = 2'b00;
  always_ff @(posedge clk) begin
    if (rst) begin
      s_axi_rvalid <= 1'b0;
      s_axi_rdata  <= '0;
    end else if (s_axi_arvalid && s_axi_arready) begin
      s_axi_rvalid <= 1'b1;
      s_axi_rdata  <= rmux;
    end else if (s_axi_rready) s_axi_rvalid <= 1'b0;
  end

  // wstrb is not used (whole-register writes); the low address bits neither.
  wire unused = ^{s_axi_wstrb, s_axi_awaddr[1:0], s_axi_araddr[1:0]};
endmodule
