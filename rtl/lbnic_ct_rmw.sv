// The posted read-modify-write unit (docs/spec.md §12.2 "The posted
// read-modify-write in the RTL"): a new NAT flow's return entry, inserted
// behind CT_EXEC so that CT_EXEC goes on with the next packet instead of
// waiting a memory latency for buckets it did not read.
//
// CT_EXEC posts a command (the return key, the new entry's VIP, backend,
// state and byte count, the packet's ingress time, the key's two candidate
// buckets) only when one candidate's full hint is clear: a free way is then
// certain, so the unit never relocates or evicts and needs no hint but the
// one it writes (a command that could relocate is done in line by CT_EXEC).
// The unit reads both buckets (tags of its own, in any order), runs the
// same way logic as CT_EXEC (`lbnic_ct_match` with `reverse`: a live return
// entry is re-pointed in place, else the lowest free way of the candidate
// with more free ways) and writes the way.
// Or a relocation (cmd_reloc): the resident's way (cmd_way) moved to its
// other bucket (cmd_a, whose full hint was clear), read alone and given as
// both candidates, into its lowest free way; CT_EXEC counted the insert
// and the relocation, the unit counts whether that way held an expired
// entry (docs/spec.md §6, insert 2).
// A NAT command may come with `cmd_hold` clocks to wait before the first
// read: the cycle model issues a return entry's reads a fixed time after
// its packet executes (the contract's CT_POSTED_ISSUE), and CT_EXEC,
// whose clocks to the post vary with the packet's path, posts as soon as it
// can and leaves the time to the unit (docs/spec.md §12.3 decision 10).
// While `busy`, `lock_a` / `lock_b` are the buckets it will write: the
// engine keeps every other reader and writer of them out until the write is
// taken, so the entry lands as the model's `execute` applies it.
module lbnic_ct_rmw #(
    parameter int unsigned WAYS = lbnic_pkg::TARGET_CT_WAYS,
    parameter int unsigned BUCKET_BITS = lbnic_pkg::TARGET_CT_BUCKET_BITS,
    localparam int unsigned BW = (BUCKET_BITS > 0) ? BUCKET_BITS : 1,
    localparam int unsigned BBITS = WAYS * lbnic_pkg::CT_WAY_BITS
) (
    input  logic                    clk,
    input  logic                    rst,

    // the command
    input  logic                    cmd_valid,
    output logic                    cmd_ready,
    input  lbnic_pipe_pkg::ct_key_t cmd_key,
    input  logic [7:0]              cmd_flags,
    input  logic [31:0]             cmd_now,
    input  logic [15:0]             cmd_len,
    input  logic [15:0]             cmd_vip,
    input  logic [15:0]             cmd_backend,
    input  logic [BW-1:0]           cmd_a,
    input  logic [BW-1:0]           cmd_b,
    input  logic                    cmd_reloc,
    input  lbnic_pkg::ct_way_t      cmd_way,
    input  logic [7:0]              cmd_hold,
    // GLOBAL's timeouts (syn, est, fin, udp from bit 0)
    input  logic [127:0]            timeouts,

    // reads: the side (0: a, 1: b) names the response
    output logic                    rd_valid,
    input  logic                    rd_ready,
    output logic [BW-1:0]           rd_bucket,
    output logic                    rd_side,
    input  logic                    rsp_valid,
    input  logic                    rsp_side,
    input  logic [BBITS-1:0]        rsp_data,
    // the write
    output logic                    wr_valid,
    input  logic                    wr_ready,
    output logic [BW-1:0]           wr_bucket,
    output logic [WAYS-1:0]         wr_mask,
    output logic [BBITS-1:0]        wr_data,
    // the bucket's full hint once written (the engine sets it as the
    // write is taken), decided with the way: the expiry compares of the
    // written data behind the port's choice of unit were 8-9 LUT levels
    // into the hints' write data (issue 13); and the command's time, for
    // the engine's check of it against its own rule
    output logic                    wr_full,
    output logic [31:0]             wr_now,

    // a clock each as the write is taken: an insert (not a relocation's),
    // and whether its way held an expired entry (CT_INSERTS, CT_AGEOUTS)
    output logic                    cnt_insert,
    output logic                    cnt_ageout,

    output logic                    busy,
    output logic [BW-1:0]           lock_a,
    output logic [BW-1:0]           lock_b,
    // the write comes next clock, to lock_b if soon_b else lock_a (the
    // engine arms a forwarding slot for a queued packet that read that
    // bucket); wr_b: the same for the write waiting (wr_bucket is lock_b).
    // A side, not a bucket: the engine compares its entries with the
    // locks, registers, and picks by the side after (a bucket chosen by
    // the match's outcome, then compared, was 9 LUT levels, issue 13)
    output logic                    soon,
    output logic                    soon_b,
    output logic                    wr_b
);
  localparam int unsigned WB = (WAYS > 1) ? $clog2(WAYS) : 1;
  localparam int unsigned WBITS = lbnic_pkg::CT_WAY_BITS;
  localparam logic [1:0] INS_FREE = 2'd0;

  typedef enum logic [2:0] {R_IDLE, R_HOLD, R_RD_A, R_RD_B, R_WAIT, R_GO, R_MATCH, R_WR} state_e;
  state_e st;

  lbnic_pipe_pkg::ct_key_t key;
  logic [7:0]  flags;
  logic [31:0] now;
  logic [15:0] len, vip, backend;
  logic [BW-1:0] a, b;
  logic [BBITS-1:0] da, db;
  logic got_a, got_b;
  logic reloc;
  lbnic_pkg::ct_way_t mv;
  logic [7:0] hold;

  // the way logic, as CT_EXEC's (no relocation: res_* unused)
  /* verilator lint_off UNUSEDSIGNAL */
  logic m_in_ready, mo_valid, mo_hit, mo_hit_b, mo_ins_b, mo_aged;
  logic [WB-1:0] mo_hit_way, mo_ins_way;
  logic [15:0] mo_hit_vip, mo_hit_be;
  lbnic_pkg::ct_way_t mo_touched, mo_new;
  logic [1:0] mo_kind;
  logic [31:0] mo_reloc;
  logic mo_ev, mo_eh;  // (the early hit: the unit reads no backend)
  logic mo_wb, mo_hfull, mo_ifull;
  logic mo_own, mo_hin;  // (the unit decides no backend)
  logic mo_etag, mo_tag;  // (one kind of lookup only)
  logic [15:0] mo_evip, mo_ebe;
  logic mo_eown, mo_ein;
  /* verilator lint_on UNUSEDSIGNAL */
  lbnic_ct_match #(.WAYS(WAYS)) u_match (
      .clk, .rst,
      .in_valid(st == R_GO), .in_ready(m_in_ready), .in_tag(1'b0), .out_tag(mo_tag),
      .key, .reverse(1'b1), .now, .len, .tcp_flags(flags), .new_vip(vip), .new_backend(backend),
      .to_syn(timeouts[31:0]), .to_est(timeouts[63:32]), .to_fin(timeouts[95:64]),
      .to_udp(timeouts[127:96]),
      .bucket_a(da), .bucket_b(reloc ? da : db), .a(32'(a)), .b(32'(b)),
      .res_other('0), .res_placed('0), .res_full('0),
      .out_valid(mo_valid), .out_ready(1'b1),
      .hit(mo_hit), .hit_b(mo_hit_b), .hit_way(mo_hit_way), .hit_vip(mo_hit_vip),
      .hit_backend(mo_hit_be), .touched(mo_touched),
      .ins_kind(mo_kind), .ins_b(mo_ins_b), .ins_way(mo_ins_way), .ins_aged(mo_aged),
      .new_way(mo_new), .reloc_bucket(mo_reloc),
      .way_b(mo_wb), .hit_full(mo_hfull), .ins_full(mo_ifull), .hit_own(mo_own), .hit_in(mo_hin),
      .early_valid(mo_ev), .early_tag(mo_etag), .early_hit(mo_eh), .early_vip(mo_evip), .early_backend(mo_ebe),
      .own_count('0), .early_own(mo_eown), .early_in(mo_ein)
  );

  assign cmd_ready = st == R_IDLE;
  assign wr_now = now;
  // busy is st != R_IDLE, kept in a register of its own: a decode of st
  // sat in front of CT_HOST's ack into the register block's read (9 LUT
  // levels, issue 13)
  assign lock_a = a;
  assign lock_b = b;
  // a live return entry re-pointed in place, else the free way the clear
  // hint promised (a relocation's: in its one bucket, never a hit's)
  logic inb, ih;
  logic [WB-1:0] inw;
  assign ih = mo_hit && !reloc;
  assign inb = ih ? mo_hit_b : mo_ins_b && !reloc;
  assign inw = ih ? mo_hit_way : mo_ins_way;
  // (the match's own registers: only R_MATCH waits for its output, so
  // mo_valid is R_MATCH's; its way_b is inb but for a relocation, whose
  // a and b are one bucket, either side naming it. A choice behind the
  // match's outputs was the first LUT level of 8 into the engine's
  // forwarding, issue 13)
  assign soon = mo_valid;
  assign soon_b = mo_wb;
  // (a register, set as the FSM enters R_RD_A: its decode in front of the
  // engine's read arbitration was a LUT level too many, issue 13)
  logic rdv;
  assign rd_valid = rdv;
  assign rd_bucket = (st == R_RD_B) ? b : a;
  assign rd_side = st == R_RD_B;
  assign wr_valid = st == R_WR;
  assign cnt_insert = wr_valid && wr_ready && !reloc;

  logic aged;
  assign cnt_ageout = wr_valid && wr_ready && aged;

  always_ff @(posedge clk) begin
    if (rsp_valid) begin
      if (rsp_side) begin
        db <= rsp_data;
        got_b <= 1'b1;
      end else begin
        da <= rsp_data;
        got_a <= 1'b1;
      end
    end
    case (st)
      R_IDLE: if (cmd_valid) begin
        key <= cmd_key;
        flags <= cmd_flags;
        now <= cmd_now;
        len <= cmd_len;
        vip <= cmd_vip;
        backend <= cmd_backend;
        a <= cmd_a;
        b <= cmd_reloc ? cmd_a : cmd_b;
        reloc <= cmd_reloc;
        mv <= cmd_way;
        got_a <= 1'b0;
        got_b <= cmd_reloc;
        hold <= cmd_hold;
        st <= (cmd_hold > 8'd1) ? R_HOLD : R_RD_A;
        rdv <= cmd_hold <= 8'd1;
        busy <= 1'b1;
      end
      // (cmd_hold clocks in all from the command's: R_IDLE's one, then
      // these; 0 and 1 read the clock after the command)
      R_HOLD: begin
        hold <= hold - 1'b1;
        if (hold == 8'd2) begin
          st <= R_RD_A;
          rdv <= 1'b1;
        end
      end
      R_RD_A: if (rd_ready) begin
        st <= reloc ? R_WAIT : R_RD_B;
        rdv <= !reloc;
      end
      R_RD_B: if (rd_ready) begin
        st <= R_WAIT;
        rdv <= 1'b0;
      end
      R_WAIT: if (got_a && got_b) st <= R_GO;
      R_GO: st <= R_MATCH;
      R_MATCH: if (mo_valid) begin
        wr_bucket <= inb ? b : a;
        wr_b <= inb;
        for (int unsigned i = 0; i < WAYS; i++)
          wr_data[WBITS*i +: WBITS] <= (32'(inw) == i) ? (reloc ? mv : mo_new)
                                      : (inb ? db[WBITS*i +: WBITS] : da[WBITS*i +: WBITS]);
        wr_mask <= WAYS'(1) << inw;
        // (a relocation's moved resident is live at `now`: CT_EXEC found
        // no free way in its buckets then, so the target's free ways go
        // down by one, as an insert's)
        wr_full <= ih ? mo_hfull : mo_ifull;
        aged <= !ih && mo_aged;
        st <= R_WR;
      end
      R_WR: if (wr_ready) begin
        st <= R_IDLE;
        busy <= 1'b0;
      end
      default: begin
        st <= R_IDLE;
        busy <= 1'b0;
        rdv <= 1'b0;
      end
    endcase
    if (rst) begin
      st <= R_IDLE;
      busy <= 1'b0;
      rdv <= 1'b0;
      got_a <= 1'b0;
      got_b <= 1'b0;
    end
  end
`ifndef SYNTHESIS
  // a clear hint promised a free way: nothing else may follow
  always_ff @(posedge clk)
    if (!rst && st == R_MATCH && mo_valid && !ih && mo_kind != INS_FREE)
      $error("lbnic_ct_rmw: no free way although a full hint was clear");
  always_ff @(posedge clk)
    if (!rst && busy != (st != R_IDLE)) $error("lbnic_ct_rmw: busy apart from st");
  // soon and soon_b, the match's registers: R_MATCH's output, and the
  // written side but where a and b are one bucket
  always_ff @(posedge clk)
    if (!rst && mo_valid && (st != R_MATCH || (soon_b != inb && a != b)))
      $error("lbnic_ct_rmw: soon / soon_b apart from R_MATCH's match and its side");
  always_ff @(posedge clk)
    if (!rst && rdv != (st == R_RD_A || st == R_RD_B)) $error("lbnic_ct_rmw: rdv apart from st");
`endif
endmodule
