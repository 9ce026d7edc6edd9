// Testbench of lbnic_egress with the real lbnic_pkt_buf beside it (wired
// as lbnic_top wires them), on the REWRITE vectors of the functional model
// (<vectors>/rewrite.txt, model-tests/examples/rtl_vectors_rewrite.rs: per
// packet the decision, the parsed fields, the VIP / backend / GLOBAL
// entries, the IP packet's sum, the frame, and the model's output frame or
// status, as lbnic_rewrite_tb checks them).
//
// Two egresses run side by side on the same packets, LANES = 2 and 4 (a
// generate loop, no plusarg). Per egress:
//   - RX: every frame written into the buffer in order, s_tuser = the
//     packet's RX index (a distinct value per packet), its late side data
//     ({ok, lo, hi, sum}) 0..6 clocks after its last beat: mostly the
//     correct RX sum (GUE needs no pre-pass), sometimes ok = 0 or a wrong
//     range (GUE then takes the pre-pass through lbnic_hdr_sums, whose sum
//     must give the same output);
//   - decisions in packet order, in phases of PH packets: "calm" phases
//     present each decision as soon as the one before is taken, with
//     m_tx_tready held high and RX at full speed; "random" phases random
//     gaps between decisions, random phases of m_tx_tready back-pressure
//     (always, never, 50 %, 90 %) and random RX gaps. The egress drains
//     between phases (and GLOBAL, gcfg, changes only then: the vectors hold
//     three configurations);
//   - TX: every output frame byte for byte (data, tkeep contiguous and full
//     but on the last beat, tlast), m_tx_tuser constant over the frame and
//     the RX index of its packet, in packet order; a too-big Forward's
//     ICMP answer (no model bytes in the vectors): in its packet's place,
//     from its RX index, at least 60 bytes, Ethernet to the frame's source
//     MAC from GLOBAL's device MAC, and only if its release says sent;
//   - releases: in packet order, exactly one per packet, only with a head
//     frame in the buffer, after the packet's output left TX; rel_kind the
//     model's status, rel_drop its drop counter, rel_icmp for a too-big
//     Forward (then rel_sent xor rel_limited or neither, rel_sent iff an
//     answer was seen);
//   - throughput: for two consecutive packets in a calm phase that are
//     both emitted (TX / PASS) and plain (no pre-pass: not an ICMP error
//     under Forward / ReverseNat, not GUE without the RX sum), the second's
//     first TX beat must come in the clock right after the first's last
//     (no gap allowed, at least MIN_PAIRS such pairs per LANES), unless
//       - the second's frame was not in the buffer (its late data) when
//         the first decision was taken (the testbench's RX, not counted);
//       - the first's frame has more beats than its output (padding
//         dropped): the read port, a beat a clock, binds (counted);
//       - the egress took the second decision less than 4 clocks before
//         the first's frame was read (dut.in_last): every lane was busy, a
//         packet holds its lane from its decision to its release, so with
//         short frames LANES bounds the packets per clock (counted);
//   - at the end: busy low, the buffer empty, no TX beat or release after.
// +seed=N: another random seed. +flip=N flips a bit of packet N's expected
// output, +break_pair=N adds a clock to the N-th calm plain pair's gap
// (both show the checks can fail). +dump_pairs prints every calm plain
// pair (PAIR lanes i beats_in beats_out slack gap).
`timescale 1ns / 1ps
module lbnic_egress_tb;
  localparam int unsigned DB = lbnic_pkg::TARGET_DATAPATH_BYTES;
  localparam int unsigned NFR = 16;             // buffer frames
  localparam int unsigned PB_DEPTH = 65536 / DB;  // buffer beats (64 KiB)
  localparam int unsigned PB_MAXF = 9216;
  localparam int unsigned LATE = 1 + 16 + 16 + 16;
  localparam int unsigned PH = 150;             // packets per phase
  localparam int unsigned MIN_PAIRS = 1000;
  localparam longint unsigned STALL = 200000;   // clocks without progress
  localparam int NCFG = 2;                      // LANES = 2, 4

  logic clk = 1'b0;
  always #1 clk = ~clk;
  logic rst = 1'b1;
  longint unsigned cyc = 0;
  always @(posedge clk) cyc <= cyc + 1;

  // ---------------------------------------------------------------- vectors
  int npk = 0;
  bit loaded = 0;
  lbnic_rewrite_vec_pkg::head_t v_h[$];   // per packet, its vector's head
  int v_glob[$];                     // index into globs
  lbnic_pkg::global_t globs[$];
  int v_in_off[$], v_flen[$], v_out_off[$], v_olen[$];
  byte unsigned v_in[$], v_out[$];
  int counts[5];

  function automatic logic [31:0] rx_index(int p);
    return 32'(p) * 32'd2654435761 + 32'h1234;
  endfunction
  function automatic bit is_gue_fwd(int p);
    return v_h[p].dec.kind == lbnic_pipe_pkg::DECISION_FORWARD
        && v_h[p].vip.mode == lbnic_pkg::MODE_TUN_GUE;
  endfunction
  function automatic bit is_icmp_nat(int p);
    return (v_h[p].dec.kind == lbnic_pipe_pkg::DECISION_FORWARD
            || v_h[p].dec.kind == lbnic_pipe_pkg::DECISION_REVERSE_NAT)
        && v_h[p].parsed.icmp_error_valid;
  endfunction
  function automatic bit emits(int p);
    return v_h[p].st_kind == 3'd0 || v_h[p].st_kind == 3'd1;
  endfunction
  function automatic bit too_big_fwd(int p);
    return v_h[p].st_kind == 3'd3 && v_h[p].dec.kind == lbnic_pipe_pkg::DECISION_FORWARD;
  endfunction
  function automatic bit calm_phase(int p);
    return (p / PH) % 2 == 0;
  endfunction

  string dir;
  int seed, break_pair, flip, dump_pairs;
  initial begin
    int fd, olen;
    lbnic_rewrite_vec_pkg::head_t h;
    lbnic_rewrite_vec_pkg::bytes_t bytes;
    int in0;
    if (!$value$plusargs("vectors=%s", dir)) dir = "rtl/build/vectors";
    if (!$value$plusargs("seed=%d", seed)) seed = 1;
    if (!$value$plusargs("break_pair=%d", break_pair)) break_pair = 0;
    if (!$value$plusargs("flip=%d", flip)) flip = -1;
    dump_pairs = $test$plusargs("dump_pairs");
    void'($urandom(seed));
    fd = $fopen({dir, "/rewrite.txt"}, "r");
    if (fd == 0) $fatal(1, "cannot open %s/rewrite.txt", dir);
    forever begin
      if (!lbnic_rewrite_vec_pkg::read_head(fd, npk, h)) break;
      if (int'(h.flen) > int'(PB_MAXF)) $fatal(1, "packet %0d: frame of %0d bytes", npk, h.flen);
      in0 = v_in.size();
      bytes = lbnic_rewrite_vec_pkg::read_bytes(fd, int'(h.flen));
      foreach (bytes[k]) v_in.push_back(bytes[k]);
      v_in_off.push_back(in0);
      v_flen.push_back(int'(h.flen));
      v_out_off.push_back(v_out.size());
      olen = lbnic_rewrite_vec_pkg::read_len(fd);
      bytes = lbnic_rewrite_vec_pkg::read_bytes(fd, olen);
      foreach (bytes[k]) v_out.push_back(bytes[k]);
      v_olen.push_back(olen);
      if (npk == flip && olen > 0) begin
        int at;
        at = v_out.size() - olen + olen / 2;
        v_out[at] = v_out[at] ^ 8'h10;
      end
      // (the parser's MACs: the ICMP answer goes to the frame's source)
      for (int k = 0; k < 6; k++) begin
        h.parsed.dst_mac[k] = v_in[in0 + k];
        h.parsed.src_mac[k] = v_in[in0 + 6 + k];
      end
      v_h.push_back(h);
      if (globs.size() == 0 || globs[globs.size() - 1] != h.glob)
        globs.push_back(h.glob);
      v_glob.push_back(globs.size() - 1);
      counts[h.st_kind]++;
      npk++;
    end
    $fclose(fd);
    if (npk < 1000) $fatal(1, "only %0d vectors", npk);
    $display("lbnic_egress_tb: %0d packets (tx %0d pass %0d drop %0d too_big %0d family %0d), %0d GLOBAL configurations",
             npk, counts[0], counts[1], counts[2], counts[3], counts[4], globs.size());
    loaded = 1;
    repeat (4) @(negedge clk);
    rst = 1'b0;
  end

  bit done[NCFG];

  for (genvar c = 0; c < NCFG; c++) begin : g_cfg
    localparam int unsigned LANES = 2 << c;
    localparam int unsigned PFW = $clog2(NFR);

    // ---- the egress and the packet buffer, wired as in lbnic_top
    lbnic_pkg::global_t gcfg = '0;
    logic clear = 1'b0;
    logic in_valid = 1'b0, in_ready;
    lbnic_pipe_pkg::decision_t in_dec = '0;
    lbnic_pipe_pkg::meta_t in_meta = '0;
    lbnic_pipe_pkg::parsed_t in_parsed = '0;
    lbnic_pkg::vip_t in_vip = '0;
    lbnic_pkg::backend_t in_be = '0;
    logic [PFW-1:0] pb_at_sel, pb_rd_sel;
    logic pb_at_valid, pb_rd_valid, pb_rd_ready, pb_rd_busy, pb_release, pb_empty, pb_hd_valid;
    logic [31:0] pb_at_user, pb_hd_user;
    logic [LATE-1:0] pb_at_late, pb_hd_late;
    logic [15:0] pb_hd_len;
    logic pb_m_tvalid, pb_m_tready, pb_m_tlast, pb_last_over;
    logic [8*DB-1:0] pb_m_tdata;
    logic [DB-1:0] pb_m_tkeep;
    logic m_tx_tvalid, m_tx_tready = 1'b0, m_tx_tlast;
    logic [8*DB-1:0] m_tx_tdata;
    logic [DB-1:0] m_tx_tkeep;
    logic [31:0] m_tx_tuser;
    logic [2:0] rel_kind;
    logic [7:0] rel_drop;
    logic rel_icmp, rel_sent, rel_limited, busy;
    // RX side of the buffer
    logic rx_tvalid = 1'b0, rx_tready, rx_tlast = 1'b0;
    logic [8*DB-1:0] rx_tdata = '0;
    logic [DB-1:0] rx_tkeep = '0;
    logic [31:0] rx_tuser = '0;
    logic late_valid = 1'b0;
    logic [LATE-1:0] late_user = '0;

    lbnic_pkt_buf #(
        .DATA_BYTES(DB), .DEPTH(PB_DEPTH), .NFR(NFR), .MAX_FRAME(PB_MAXF),
        .USER_BITS(32), .LATE_BITS(LATE)
    ) pbuf (
        .clk, .rst,
        .s_tvalid(rx_tvalid), .s_tready(rx_tready), .s_tdata(rx_tdata), .s_tkeep(rx_tkeep),
        .s_tlast(rx_tlast), .s_tuser(rx_tuser), .last_over(pb_last_over),
        .late_valid(late_valid), .late_user(late_user),
        .hd_valid(pb_hd_valid), .hd_len(pb_hd_len), .hd_user(pb_hd_user), .hd_late(pb_hd_late),
        .at_sel(pb_at_sel), .at_valid(pb_at_valid), .at_user(pb_at_user), .at_late(pb_at_late),
        .rd_sel(pb_rd_sel), .rd_valid(pb_rd_valid), .rd_ready(pb_rd_ready), .release_head(pb_release),
        .m_tvalid(pb_m_tvalid), .m_tready(pb_m_tready), .m_tdata(pb_m_tdata), .m_tkeep(pb_m_tkeep),
        .m_tlast(pb_m_tlast), .empty(pb_empty), .rd_busy(pb_rd_busy)
    );

    lbnic_egress #(
        .DATA_BYTES(DB), .LANES(LANES), .FRAMES(NFR), .LATE_BITS(LATE)
    ) dut (
        .clk, .rst, .clear, .gcfg,
        .in_valid, .in_ready, .in_dec, .in_meta, .in_parsed, .in_vip, .in_be,
        .at_sel(pb_at_sel), .at_valid(pb_at_valid), .at_user(pb_at_user), .at_late(pb_at_late),
        .rd_sel(pb_rd_sel), .rd_valid(pb_rd_valid), .rd_ready(pb_rd_ready), .rd_busy(pb_rd_busy),
        .release_head(pb_release),
        .s_tvalid(pb_m_tvalid), .s_tready(pb_m_tready), .s_tdata(pb_m_tdata), .s_tkeep(pb_m_tkeep),
        .s_tlast(pb_m_tlast),
        .m_tx_tvalid, .m_tx_tready, .m_tx_tdata, .m_tx_tkeep, .m_tx_tlast, .m_tx_tuser,
        .rel_kind, .rel_drop, .rel_icmp, .rel_sent, .rel_limited, .busy
    );

    // ---- bookkeeping (cycles per packet)
    longint unsigned late_at[$], take_at[$], first_at[$], last_at[$], rd_end_at[$];
    int n_rd_end = 0;
    bit pre[$];                      // the packet takes the pre-pass
    bit icmp_seen[$];
    int n_take = 0, n_rel =  0, n_tx_frames = 0, n_icmp_ans = 0, n_sent = 0, n_limited = 0;
    int n_refused = 0, n_pre = 0, n_gue_pre = 0, n_gue_rx = 0;
    int tx_p = 0;                    // the next packet whose output TX owes
    int n_written = 0, n_late = 0;
    longint unsigned progress = 0;   // the last clock anything moved
    bit calm = 1'b1;                 // m_tx_tready held high
    bit fin = 1'b0;

    task automatic fail(string msg);
      $display("FAIL (LANES=%0d, clock %0d): %s", LANES, cyc, msg);
      $fatal(1, "lbnic_egress mismatch");
    endtask

    initial begin
      wait (loaded);
      for (int p = 0; p < npk; p++) begin
        late_at.push_back(0); take_at.push_back(0); rd_end_at.push_back(0); first_at.push_back(0); last_at.push_back(0);
        pre.push_back(0); icmp_seen.push_back(0);
      end
    end

    // ---- RX: the frames into the buffer, their late data after
    logic [LATE-1:0] lq_data[$];
    longint unsigned lq_due[$];
    longint unsigned last_due = 0;
    initial begin
      wait (loaded);
      @(negedge clk);
      while (rst) @(negedge clk);
      for (int p = 0; p < npk; p++) begin
        int nb, off, len;
        bit rnd;
        logic [LATE-1:0] lu;
        logic [15:0] lo, hi;
        int how;
        longint unsigned due;
        len = v_flen[p];
        off = v_in_off[p];
        nb = (len + DB - 1) / DB;
        rnd = !calm_phase(p);
        for (int bi = 0; bi < nb; bi++) begin
          if (rnd) while ($urandom_range(7) == 0) @(negedge clk);
          // (whole vectors: Verilator 5.006 did not re-evaluate the
          // buffer's keep count after bit-by-bit writes of rx_tkeep)
          begin
            logic [8*DB-1:0] d;
            logic [DB-1:0] k;
            for (int j = 0; j < int'(DB); j++) begin
              d[8*j+:8] = bi * DB + j < len ? v_in[off + bi * DB + j] : 8'h00;
              k[j] = bi * DB + j < len;
            end
            rx_tdata = d;
            rx_tkeep = k;
          end
          rx_tlast = bi == nb - 1;
          rx_tuser = rx_index(p);
          rx_tvalid = 1'b1;
          do @(posedge clk); while (!rx_tready);
          @(negedge clk);
          rx_tvalid = 1'b0;
        end
        // the late data: the RX sum (GUE then needs no pre-pass), or none,
        // or one over another range (both: the pre-pass)
        lo = 16'(v_h[p].parsed.l3_offset);
        hi = lo + v_h[p].parsed.l3_len;
        how = $urandom_range(9);
        if (how < 7) lu = {1'b1, lo, hi, v_h[p].l3_sum};
        else if (how == 7) lu = {1'b0, lo, hi, v_h[p].l3_sum ^ 16'h5a5a};
        else lu = {1'b1, lo + 16'd2, hi, v_h[p].l3_sum ^ 16'h0101};
        pre[p] = (is_gue_fwd(p) && !(lu[48] && lu[47:32] == lo && lu[31:16] == hi)) || is_icmp_nat(p);
        if (pre[p]) n_pre++;
        if (is_gue_fwd(p)) begin
          if (pre[p]) n_gue_pre++;
          else n_gue_rx++;
        end
        due = cyc + longint'($urandom_range(6));
        last_due = due > last_due ? due : last_due + 1;
        lq_due.push_back(last_due);
        lq_data.push_back(lu);
        n_written++;
      end
    end
    always @(negedge clk) begin
      late_valid = 1'b0;
      if (lq_due.size() > 0 && lq_due[0] <= cyc) begin
        late_valid = 1'b1;
        late_user = lq_data.pop_front();
        late_at[n_late] = cyc;
        n_late++;
        void'(lq_due.pop_front());
      end
    end

    // ---- TX back-pressure: held high in calm phases, random phases else
    int tr_mode = 0, tr_left = 0;
    always @(negedge clk) begin
      if (calm) m_tx_tready = 1'b1;
      else begin
        if (tr_left == 0) begin
          tr_mode = $urandom_range(3);
          tr_left = 1 + $urandom_range(tr_mode == 1 ? 40 : 80);
        end
        tr_left--;
        case (tr_mode)
          0: m_tx_tready = 1'b1;
          1: m_tx_tready = 1'b0;
          2: m_tx_tready = $urandom_range(1) == 0;
          default: m_tx_tready = $urandom_range(9) != 0;
        endcase
      end
    end

    // ---- decisions in order, in phases; GLOBAL changes while drained
    initial begin
      int g;
      wait (loaded);
      g = -1;
      @(negedge clk);
      while (rst) @(negedge clk);
      for (int p = 0; p < npk; p++) begin
        if (p % PH == 0 || v_glob[p] != g) begin
          // drain: every packet before released and its output sent
          in_valid = 1'b0;
          while (n_rel < p || busy) @(negedge clk);
          calm = calm_phase(p);
          if (v_glob[p] != g) begin
            g = v_glob[p];
            gcfg = globs[g];
            clear = 1'b1;      // the ICMP bucket full again
            @(negedge clk);
            clear = 1'b0;
          end
        end
        if (!calm) begin
          int gap;
          gap = $urandom_range(3) == 0 ? 0 : $urandom_range($urandom_range(1) == 0 ? 4 : 60);
          in_valid = 1'b0;
          repeat (gap) @(negedge clk);
        end
        in_dec = v_h[p].dec;
        in_parsed = v_h[p].parsed;
        begin
          lbnic_pipe_pkg::meta_t m;
          m = '0;
          m.len = v_h[p].len;
          m.now = 32'(p);
          in_meta = m;
        end
        in_vip = v_h[p].vip;
        in_be = v_h[p].be;
        in_valid = 1'b1;
        do @(posedge clk); while (!in_ready);
        take_at[p] = cyc;
        n_take++;
        @(negedge clk);
      end
      in_valid = 1'b0;
      in_dec = 'x;
      in_parsed = 'x;
      in_vip = 'x;
      in_be = 'x;
    end

    // the last beat of each packet's frame into its lane (REWRITE's read;
    // not the pre-pass's or the ICMP unit's), in packet order
    always @(posedge clk)
      if (!rst && loaded && dut.in_last) begin
        rd_end_at[n_rd_end] = cyc;
        n_rd_end++;
      end

    // ---- TX and the releases
    byte unsigned got[$];
    logic [31:0] got_user;
    longint unsigned got_first;
    always @(posedge clk) begin
      if (!rst && loaded) begin
        if (m_tx_tvalid && m_tx_tready) begin
          progress = cyc;
          if (fin) fail("a TX beat after the end");
          if (got.size() == 0) begin
            got_user = m_tx_tuser;
            got_first = cyc;
          end else if (m_tx_tuser !== got_user) fail("m_tx_tuser changed inside a frame");
          for (int j = 0; j < int'(DB); j++) begin
            if (j > 0 && m_tx_tkeep[j] && !m_tx_tkeep[j-1]) fail("tkeep not contiguous");
            if (m_tx_tkeep[j]) got.push_back(m_tx_tdata[8*j+:8]);
          end
          if (m_tx_tlast !== 1'b1 && m_tx_tkeep !== '1) fail("a partial beat before tlast");
          if (m_tx_tlast === 1'b1) begin
            // the packets before that owe no output (or whose too-big
            // answer may not come) are passed over
            forever begin
              bit owes;
              if (tx_p >= npk) break;
              owes = emits(tx_p) || (too_big_fwd(tx_p) && rx_index(tx_p) == got_user);
              if (owes) break;
              tx_p++;
            end
            if (tx_p >= npk)
              fail($sformatf("TX frame (%0d bytes, tuser %h) where no output is due", got.size(), got_user));
            if (got_user != rx_index(tx_p))
              fail($sformatf("TX frame with tuser %h, want packet %0d's %h (status %0d)", got_user, tx_p,
                             rx_index(tx_p), v_h[tx_p].st_kind));
            if (too_big_fwd(tx_p)) begin
              // the ICMP answer: its Ethernet header and size
              if (got.size() < 60) fail($sformatf("ICMP answer of %0d bytes", got.size()));
              for (int k = 0; k < 6; k++) begin
                if (got[k] != v_in[v_in_off[tx_p] + 6 + k])
                  fail($sformatf("packet %0d's ICMP answer: destination MAC byte %0d", tx_p, k));
                if (got[6 + k] != gcfg.device_mac[k])
                  fail($sformatf("packet %0d's ICMP answer: source MAC byte %0d", tx_p, k));
              end
              icmp_seen[tx_p] = 1'b1;
              n_icmp_ans++;
            end else begin
              int o;
              o = v_out_off[tx_p];
              if (got.size() != v_olen[tx_p])
                fail($sformatf("packet %0d: output of %0d bytes, want %0d", tx_p, got.size(), v_olen[tx_p]));
              for (int i = 0; i < got.size(); i++)
                if (got[i] != v_out[o + i])
                  fail($sformatf("packet %0d (decision %0d, status %0d, pre-pass %0d): output byte %0d is %02h, want %02h",
                                 tx_p, v_h[tx_p].dec.kind, v_h[tx_p].st_kind, pre[tx_p], i, got[i], v_out[o + i]));
              first_at[tx_p] = got_first;
              last_at[tx_p] = cyc;
              n_tx_frames++;
            end
            tx_p++;
            got.delete();
          end
        end
        if (pb_release) begin
          int p;
          p = n_rel;
          progress = cyc;
          if (p >= npk || fin) fail("a release beyond the last packet");
          if (!pb_hd_valid) fail("release with no head frame");
          if (pb_hd_user != rx_index(p)) fail($sformatf("release %0d: the head frame is another packet's", p));
          if (p >= n_take) fail($sformatf("release of packet %0d before its decision", p));
          if (rel_kind != v_h[p].st_kind)
            fail($sformatf("release %0d: rel_kind %0d, want %0d (decision %0d)", p, rel_kind, v_h[p].st_kind,
                           v_h[p].dec.kind));
          if (v_h[p].st_kind == 3'd2 && rel_drop != v_h[p].dec.drop_counter)
            fail($sformatf("release %0d: rel_drop %0d, want %0d", p, rel_drop, v_h[p].dec.drop_counter));
          if (rel_icmp != too_big_fwd(p)) fail($sformatf("release %0d: rel_icmp %0d", p, rel_icmp));
          if (emits(p) && !(tx_p > p && last_at[p] != 0))
            fail($sformatf("release %0d before its output left TX", p));
          if (rel_icmp) begin
            if (rel_sent && rel_limited) fail($sformatf("release %0d: sent and rate-limited", p));
            if (rel_sent != icmp_seen[p])
              fail($sformatf("release %0d: rel_sent %0d, ICMP answer seen %0d", p, rel_sent, icmp_seen[p]));
            if (rel_sent) n_sent++;
            else if (rel_limited) n_limited++;
            else n_refused++;
          end
          n_rel++;
        end
        if (cyc - progress > STALL && !fin) begin
          for (int q = n_rel; q < n_take; q++)
            $display("  in the egress: packet %0d decision %0d status %0d pre %0d flen %0d olen %0d icmp_seen %0d",
                     q, v_h[q].dec.kind, v_h[q].st_kind, pre[q], v_flen[q], v_olen[q], icmp_seen[q]);
          fail($sformatf("no TX beat or release for %0d clocks: %0d decisions taken, %0d released, busy %0d",
                         STALL, n_take, n_rel, busy));
        end
      end
    end

    // ---- the end, and the throughput of calm phases
    initial begin
      int pairs, gaps, calm_pairs, shown, late_rx, lane_bound, lane_gaps, read_bound, read_gaps;
      wait (loaded);
      while (n_rel < npk) @(negedge clk);
      repeat (50) @(negedge clk);
      if (busy) fail("busy after the last release");
      if (!pb_empty) fail("the packet buffer is not empty after the last release");
      if (m_tx_tvalid) fail("TX valid after the last release");
      if (got.size() != 0) fail("a TX frame left unfinished");
      forever begin
        bit owes;
        if (tx_p >= npk) break;
        owes = emits(tx_p);
        if (owes) break;
        tx_p++;
      end
      if (tx_p != npk) fail($sformatf("packet %0d's output never left TX", tx_p));
      fin = 1'b1;
      // throughput: pairs of consecutive plain packets in calm phases
      pairs = 0; gaps = 0; calm_pairs = 0; shown = 0; late_rx = 0; lane_bound = 0; lane_gaps = 0;
      read_bound = 0; read_gaps = 0;
      for (int i = 0; i + 1 < npk; i++) begin
        int gap, nin, nout;
        if (!(calm_phase(i) && (i + 1) % PH != 0 && v_glob[i] == v_glob[i + 1])) continue;
        if (!(emits(i) && emits(i + 1) && !pre[i] && !pre[i + 1])) continue;
        calm_pairs++;
        gap = int'(first_at[i + 1] - last_at[i]) - 1;
        if (break_pair != 0 && calm_pairs == break_pair) gap = gap + 1;
        nin = (v_flen[i] + DB - 1) / DB;
        nout = (v_olen[i] + DB - 1) / DB;
        if (dump_pairs != 0)
          $display("PAIR %0d %0d %0d %0d %0d %0d", LANES, i, nin, nout,
                   int'(rd_end_at[i]) - int'(take_at[i + 1]), gap);
        // (not the egress's: the second's frame was not in the buffer
        // when the first's decision was taken)
        if (late_at[i + 1] > take_at[i]) begin
          late_rx++;
          continue;
        end
        // the first's frame is read in more beats than it sends: the read
        // port (a beat a clock) binds, a gap of nin - nout is expected
        if (nin > nout) begin
          read_bound++;
          if (gap != 0) read_gaps++;
          continue;
        end
        // every lane busy: the egress took the second decision less than
        // 4 clocks before the first's frame was read (a packet holds its
        // lane from its decision to its release, so with short frames
        // LANES bounds the packets a clock)
        if (int'(rd_end_at[i]) - int'(take_at[i + 1]) < 4) begin
          lane_bound++;
          if (gap != 0) lane_gaps++;
          continue;
        end
        pairs++;
        if (gap != 0) begin
          gaps++;
          if (shown < 10) begin
            shown++;
            $display("  LANES=%0d: packets %0d (%0d -> %0d bytes) and %0d (%0d -> %0d bytes): %0d clocks between (last beat %0d, first %0d; decisions taken %0d, %0d; the first's read ended %0d)",
                     LANES, i, v_flen[i], v_olen[i], i + 1, v_flen[i + 1], v_olen[i + 1], gap,
                     last_at[i], first_at[i + 1], take_at[i], take_at[i + 1], rd_end_at[i]);
          end
        end
      end
      $display("lbnic_egress_tb LANES=%0d: %0d packets released in order with their status, %0d frames out byte for byte, %0d ICMP too-big answers (%0d sent, %0d rate-limited, %0d refused); pre-passes %0d (GUE %0d; GUE with the RX sum %0d); %0d clocks",
               LANES, n_rel, n_tx_frames, n_icmp_ans, n_sent, n_limited, n_refused, n_pre, n_gue_pre,
               n_gue_rx, cyc);
      $display("lbnic_egress_tb LANES=%0d: calm plain pairs %0d: back to back %0d of %0d checked (gaps %0d); read-bound %0d (with a gap %0d); lane-bound %0d (with a gap %0d); frame not yet in %0d",
               LANES, calm_pairs, pairs - gaps, pairs, gaps, read_bound, read_gaps, lane_bound,
               lane_gaps, late_rx);
      if (gaps != 0) fail($sformatf("%0d of %0d back-to-back pairs with a gap on TX", gaps, pairs));
      if (pairs < int'(MIN_PAIRS)) fail($sformatf("only %0d back-to-back pairs checked", pairs));
      done[c] = 1'b1;
    end
  end

  initial begin
    wait (loaded);
    wait (done[0] && done[1]);
    repeat (5) @(negedge clk);
    $display("PASS");
    $finish;
  end
endmodule
