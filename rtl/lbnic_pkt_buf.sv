// The packet buffer (spec §12.2 "The pipeline in the RTL"): store and
// forward. RX beats are written into an inferable RAM of DEPTH beats
// (lbnic_ram, DATA_BYTES per beat, byte k on bits [8k+7:8k]), frames
// contiguous; a frame's descriptor (length, s_tuser) enters the frame FIFO (NFR
// frames) with its last beat. Frames leave in order: the head frame is
// freed by `release` (one clock; a frame may be released without being
// read). Any stored frame can be read any number of times from byte 0:
// rd_valid/rd_ready starts a read of the frame `rd_sel` places behind the
// head (an egress that overlaps packets reads the next frame while the
// head's is still being sent); the frame streams on m_*, tkeep from the
// length. One read waits behind the one in progress and follows its last
// request in the next clock, so frames read back to back stream without a
// gap.
//
// MAC rule (decision 5 of rtl-arch2.md): a frame longer than MAX_FRAME bytes
// is not kept: its beats past MAX_FRAME are taken and discarded, the write
// pointer goes back to the frame's start with its last beat, and no
// descriptor is made; `last_over` tells (registered with the last beat,
// held until the next last beat) so the header path can drop the frame's
// header descriptor.
//
// For the clock (spec §13 "Synthesis"): a beat's bytes come from where
// its contiguous tkeep ends (lbnic_keep_count), and whether it is kept
// compares them with the bytes the frame has left (a register), not a
// 17-bit sum with MAX_FRAME; the ready does not wait on that compare (the
// beat that first goes past MAX_FRAME needs room like a kept one; those
// after it, flagged `over`, are taken without); a frame's end beat is
// kept with its descriptor, so freeing it is a register load, not an add.
//
// Side data that comes after a frame's last beat (`late_*`, one per frame
// RX took, in order) is kept with the frame's descriptor; a frame is at
// the head (`hd_valid`) only once its late data is in.
//
// Back-pressure: s_tready is low while the RAM is full or (on a last beat)
// the frame FIFO is full. DEPTH (a power of two) must hold MAX_FRAME bytes
// and a beat more (the first beat past MAX_FRAME waits for room).
//
// Read: the RAM's 1-clock read into a 2-entry output FIFO (m_* registered,
// one beat per clock with m_tready high).
module lbnic_pkt_buf #(
    parameter int unsigned DATA_BYTES = lbnic_pkg::TARGET_DATAPATH_BYTES,
    // small defaults so that generic synthesis (flip-flops) is quick;
    // lbnic_top sets 64 KiB, 256 frames and the target's max_rx_frame
    parameter int unsigned DEPTH = 64,          // beats
    parameter int unsigned NFR = 8,             // frames
    parameter int unsigned MAX_FRAME = 2048,
    // the descriptor's side data (lbnic_top: the RX index), and the side
    // data that comes later (lbnic_top: lbnic_rx_sum's result)
    parameter int unsigned USER_BITS = 32,
    parameter int unsigned LATE_BITS = 1,
    localparam int unsigned AW = $clog2(DEPTH),
    localparam int unsigned FW = $clog2(NFR),
    localparam int unsigned LB = $clog2(DATA_BYTES)
) (
    input  logic clk,
    input  logic rst,

    input  logic                    s_tvalid,
    output logic                    s_tready,
    input  logic [8*DATA_BYTES-1:0] s_tdata,
    input  logic [DATA_BYTES-1:0]   s_tkeep,
    input  logic                    s_tlast,
    input  logic [USER_BITS-1:0]    s_tuser,   // sampled with the last beat
    output logic                    last_over, // the last frame was too long
    // one per frame, kept or not, in order, fewer than LATE_MAX clocks
    // after its last beat was taken (lbnic_rx_sum: 7)
    input  logic                    late_valid,
    input  logic [LATE_BITS-1:0]    late_user,

    // the head frame
    output logic                    hd_valid,
    output logic [15:0]             hd_len,
    output logic [USER_BITS-1:0]    hd_user,
    output logic [LATE_BITS-1:0]    hd_late,
    // the frame `at_sel` places behind the head: whether its late data is
    // in, and its side data
    input  logic [$clog2(NFR)-1:0]  at_sel,
    output logic                    at_valid,
    output logic [USER_BITS-1:0]    at_user,
    output logic [LATE_BITS-1:0]    at_late,
    input  logic [$clog2(NFR)-1:0]  rd_sel,
    input  logic                    rd_valid,
    output logic                    rd_ready,
    input  logic                    release_head,

    output logic                    m_tvalid,
    input  logic                    m_tready,
    output logic [8*DATA_BYTES-1:0] m_tdata,
    output logic [DATA_BYTES-1:0]   m_tkeep,
    output logic                    m_tlast,

    // no frame stored or being written
    output logic                    empty,
    // a read is in progress (beats not yet taken on m_*)
    output logic                    rd_busy
);
  localparam int unsigned BW = 8 * DATA_BYTES;
  localparam logic [16:0] MAXF = 17'(MAX_FRAME);

  // ---------------------------------------------------------------- write
  localparam int unsigned PW = LB + 1;  // a count of 0..DATA_BYTES bytes

  logic [AW:0]  wp;         // next beat to write (with a wrap bit)
  logic [AW:0]  fstart;     // the current frame's first beat
  logic [AW:0]  base;       // the head frame's first beat (oldest kept)
  logic [16:0]  wlen;       // bytes of the current frame so far (while kept)
  logic [16:0]  left;       // MAX_FRAME - wlen
  logic         over;       // the current frame is past MAX_FRAME
  logic         wactive;    // inside a frame
  logic [16:0]  nlen;
  logic [PW-1:0] nkeep;
  logic         store;      // this beat is kept
  logic         full;
  logic         ffull;
  logic         fire_w;
  logic [AW:0]  used;

  lbnic_keep_count #(.DATA_BYTES(DATA_BYTES)) u_keep (.keep(s_tkeep), .count(nkeep));
  assign nlen = wlen + 17'(nkeep);
  assign store = !over && 17'(nkeep) <= left;
  assign used = wp - base;
  assign full = used[AW];  // DEPTH beats used (DEPTH is a power of two)
  // (the ready does not hang on the byte count: the beat that first goes
  // past MAX_FRAME waits for room too, and its write lands past the stored
  // frames, harmlessly; the later ones are `over`, taken without room)
  assign s_tready = (over || !full) && !(s_tlast && ffull);
  if (DEPTH * DATA_BYTES < MAX_FRAME + DATA_BYTES) begin : g_depth
    $error("lbnic_pkt_buf: DEPTH beats must hold MAX_FRAME bytes and one beat more");
  end
  assign fire_w = s_tvalid && s_tready;

  // frame FIFO
  logic [15:0]   f_len[NFR];
  logic [AW:0]   f_end[NFR];   // the beat after the frame's last
  logic [USER_BITS-1:0] f_user[NFR];
  logic [FW:0]   fw, fr;
  logic          push;
  assign ffull = (fw - fr) == (FW+1)'(NFR);
  assign push = fire_w && s_tlast && store;

  always_ff @(posedge clk) begin
    if (rst) begin
      wp <= '0;
      fstart <= '0;
      wlen <= '0;
      left <= MAXF;
      over <= 1'b0;
      wactive <= 1'b0;
      fw <= '0;
      last_over <= 1'b0;
    end else if (fire_w) begin
      if (s_tlast) begin
        wlen <= '0;
        left <= MAXF;
        over <= 1'b0;
        wactive <= 1'b0;
        last_over <= !store;
        if (store) begin
          wp <= wp + 1'b1;
          fstart <= wp + 1'b1;
          fw <= fw + 1'b1;
        end else begin
          wp <= fstart;
        end
      end else begin
        wactive <= 1'b1;
        if (store) begin
          wlen <= nlen;
          left <= left - 17'(nkeep);
          wp <= wp + 1'b1;
        end else begin
          over <= 1'b1;
        end
      end
    end
    if (push) begin
      f_len[fw[FW-1:0]] <= nlen[15:0];
      f_end[fw[FW-1:0]] <= wp + 1'b1;
      f_user[fw[FW-1:0]] <= s_tuser;
    end
  end

  // ---------------------------------------------------------------- late
  // Frames whose late data is due: whether each was kept, and its slot.
  localparam int unsigned LATE_MAX = 16;  // a power of two: the pointers wrap
  localparam int unsigned DW = $clog2(LATE_MAX);
  logic [LATE_BITS-1:0] f_late[NFR];
  logic [LATE_MAX-1:0]  due_kept;
  logic [FW-1:0]        due_slot[LATE_MAX];
  logic [DW-1:0]        due_wp, due_rp;
  logic [FW:0]          fl;       // frames whose late data is in
  // the next clock's frame counts (their registers take them, and so
  // does hd_valid's, below)
  logic [FW:0]          fl_n, fr_n;
  assign fl_n = fl + (FW+1)'(late_valid && due_kept[due_rp]);
  assign fr_n = fr + (FW+1)'(release_head && hd_valid);
  always_ff @(posedge clk) begin
    if (rst) begin
      due_wp <= '0;
      due_rp <= '0;
      fl <= '0;
    end else begin
      if (fire_w && s_tlast) begin
        due_kept[due_wp] <= store;
        due_slot[due_wp] <= fw[FW-1:0];
        due_wp <= due_wp + 1'b1;
      end
      if (late_valid) begin
        due_rp <= due_rp + 1'b1;
        fl <= fl_n;
      end
    end
    if (late_valid && due_kept[due_rp]) f_late[due_slot[due_rp]] <= late_user;
  end

  // ---------------------------------------------------------------- head
  logic [AW-1:0] hd_start;
  // (hd_valid is a register, fl != fr of the next clock's counts: the
  // compare behind the two counters was two LUT levels in front of the
  // egress's read request and, through it, the ICMP unit's state, issue 13)
  logic hd_v;
  assign hd_valid = hd_v;
  always_ff @(posedge clk) hd_v <= !rst && fl_n != fr_n;
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && hd_v != (fl != fr))
      $error("lbnic_pkt_buf: hd_valid apart from its frame counts");
`endif
  assign hd_start = base[AW-1:0];  // frames are contiguous
  assign hd_len = f_len[fr[FW-1:0]];
  assign hd_user = f_user[fr[FW-1:0]];
  assign hd_late = f_late[fr[FW-1:0]];
  logic [FW:0] stored;
  logic [FW-1:0] at_slot;
  assign stored = fl - fr;
  assign at_slot = fr[FW-1:0] + at_sel;
  assign at_valid = stored > (FW+1)'(at_sel);
  assign at_user = f_user[at_slot];
  assign at_late = f_late[at_slot];
  assign empty = fw == fr && !wactive;

  always_ff @(posedge clk) begin
    if (rst) begin
      fr <= '0;
      base <= '0;
    end else if (release_head && hd_valid) begin
      fr <= fr_n;
      base <= f_end[fr[FW-1:0]];
    end
  end

  // ---------------------------------------------------------------- read
  logic         ractive;
  logic         rq;         // a read waits behind the one in progress
  logic [AW-1:0] rq_addr;
  logic [15:0]  rq_len;
  logic [AW-1:0] rd_addr;   // the start and length of frame rd_sel
  logic [15:0]  rd_len;
  logic [FW-1:0] rd_slot;
  logic [AW-1:0] raddr;
  logic [15:0]  rleft;      // bytes not yet requested
  logic         req;        // a RAM read this clock
  logic         req_last;
  logic [15:0]  req_bytes;
  logic         v1;         // a read in the RAM's output register
  logic         v1_last;
  logic [15:0]  v1_bytes;
  logic [BW-1:0] ram_q;
  // output FIFO, 2 entries
  logic [BW-1:0] q_data[2];
  logic [DATA_BYTES-1:0] q_keep[2];
  logic         q_last[2];
  logic [1:0]   q_cnt;
  logic         q_wp, q_rp;
  logic         pop, put;

  assign rd_slot = fr[FW-1:0] + rd_sel;
  assign rd_addr = rd_sel == '0 ? hd_start : f_end[rd_slot - 1'b1][AW-1:0];
  assign rd_len = f_len[rd_slot];
  assign rd_ready = !rq && stored > (FW+1)'(rd_sel);
  assign pop = m_tvalid && m_tready;
  // room for the read in flight and this one: q_cnt + v1 - pop < 2, the
  // two outcomes of the registers first and pop choosing last (pop comes
  // through REWRITE's ready; a sum and compare behind it were 9 LUT
  // levels into req, issue 13)
  logic room_pop, room_hold;
  assign room_hold = 32'(q_cnt) + 32'(v1) < 2;
  assign room_pop = 32'(q_cnt) + 32'(v1) < 3;
  assign req = ractive && (pop ? room_pop : room_hold);
  assign req_last = rleft <= 16'(DATA_BYTES);
  assign req_bytes = req_last ? rleft : 16'(DATA_BYTES);
  assign put = v1;

  lbnic_ram #(.WIDTH(BW), .DEPTH(DEPTH)) ram (
      .clk,
      .a_en(fire_w && !full),
      .a_we(1'b1),
      .a_addr(wp[AW-1:0]),
      .a_wdata(s_tdata),
      /* verilator lint_off PINCONNECTEMPTY */
      .a_rdata(),
      /* verilator lint_on PINCONNECTEMPTY */
      .b_en(req),
      .b_addr(raddr),
      .b_rdata(ram_q)
  );

  function automatic logic [DATA_BYTES-1:0] keep_of(input logic [15:0] n);
    logic [DATA_BYTES-1:0] k;
    for (int i = 0; i < DATA_BYTES; i++) k[i] = 16'(i) < n;
    keep_of = k;
  endfunction

  always_ff @(posedge clk) begin
    if (rst) begin
      ractive <= 1'b0;
      rq <= 1'b0;
      v1 <= 1'b0;
      q_cnt <= '0;
      q_wp <= 1'b0;
      q_rp <= 1'b0;
    end else begin
      // a read starts when none is in progress or as its last request
      // goes; else it waits in rq for that clock
      if (req) begin
        raddr <= raddr + 1'b1;
        rleft <= rleft - req_bytes;
        if (req_last) begin
          ractive <= rq;
          raddr <= rq_addr;
          rleft <= rq_len;
          rq <= 1'b0;
        end
      end
      if (rd_valid && rd_ready) begin
        if (!ractive || (req && req_last)) begin
          ractive <= 1'b1;
          raddr <= rd_addr;
          rleft <= rd_len;
        end else begin
          rq <= 1'b1;
          rq_addr <= rd_addr;
          rq_len <= rd_len;
        end
      end
      v1 <= req;
      if (req) begin
        v1_last <= req_last;
        v1_bytes <= req_bytes;
      end
      if (put) begin
        q_data[q_wp] <= ram_q;
        q_keep[q_wp] <= keep_of(v1_bytes);
        q_last[q_wp] <= v1_last;
        q_wp <= !q_wp;
      end
      if (pop) q_rp <= !q_rp;
      q_cnt <= q_cnt + 2'(put) - 2'(pop);
    end
  end

  assign m_tvalid = q_cnt != 0;
  assign rd_busy = ractive || rq || v1 || m_tvalid;
  assign m_tdata = q_data[q_rp];
  assign m_tkeep = q_keep[q_rp];
  assign m_tlast = q_last[q_rp];
endmodule
