// Testbench of lbnic_ct_match: vectors from the Rust model
// (model-tests/examples/rtl_vectors_ct.rs -> <vectors>/ct_match.txt, one
// packet per line: the key, the two candidate buckets as the packet
// received them, and what hw_model::ct::CtTable's find / touch / insert
// compute on them). Inputs are driven with random gaps and the output with
// random back-pressure; every output is checked in order, exactly.
// Prints PASS and finishes, or $fatal on the first mismatch.
`timescale 1ns / 1ps
module lbnic_ct_match_tb;
  localparam int unsigned WAYS = 4;  // the generator's target: 64 buckets x 4 ways
  localparam int unsigned WB = 2;
  // (the DUT's ports a, b: the candidate bucket numbers)
  localparam int unsigned BBITS = WAYS * 512;

  logic clk = 1'b0;
  logic rst = 1'b1;
  always #5 clk = ~clk;

  logic in_valid = 1'b0, in_ready, out_valid, out_ready = 1'b0;
  lbnic_pipe_pkg::ct_key_t key;
  logic reverse;
  logic [31:0] now, to_syn, to_est, to_fin, to_udp;
  logic [15:0] len, new_vip, new_backend;
  logic [7:0] tcp_flags;
  logic [BBITS-1:0] bucket_a, bucket_b;
  logic [31:0] a, b, reloc_bucket;
  logic [32*2*WAYS-1:0] res_other;
  logic [2*WAYS-1:0] res_placed, res_full;
  logic hit, hit_b, ins_b, ins_aged;
  logic [WB-1:0] hit_way, ins_way;
  logic [15:0] hit_vip, hit_backend;
  logic [1:0] ins_kind;
  lbnic_pkg::ct_way_t touched, new_way;
  logic early_valid, early_hit;
  // each vector's index parity as its tag, checked at both outputs
  logic in_tag = 1'b0, early_tag, out_tag;
  logic [15:0] early_vip, early_backend;
  logic way_b, hit_full, ins_full, hit_own, hit_in;
  // driven at random (0..15, as the vectors' backends), taken as the
  // early stage and the output register fill: own_fill holds it from the
  // last advance
  logic [15:0] own_count = '0, own_fill = '0;
  logic early_own, early_in;

  lbnic_ct_match #(.WAYS(WAYS)) dut (.*);

  // The early hit of each packet, as its stage moves on, and the count
  // its in-range bit was taken against; checked against the outputs when
  // they come.
  logic [51:0] early_q[$];
  always @(posedge clk) begin
    if (!rst && early_valid && dut.adv)
      early_q.push_back({early_own, early_in, own_fill, early_tag, early_hit, early_vip, early_backend});
    if (dut.adv) own_fill <= own_count;
  end

  // One vector.
  typedef struct packed {
    lbnic_pipe_pkg::ct_key_t key;
    logic reverse;
    logic [31:0] now, to_syn, to_est, to_fin, to_udp;
    logic [15:0] len, new_vip, new_backend;
    logic [7:0] tcp_flags;
    logic new_syn;
    logic [BBITS-1:0] ba, bb;
    logic [31:0] a, b;
    logic [32*2*WAYS-1:0] res_other;
    logic [2*WAYS-1:0] res_placed, res_full;
    logic hit, hit_b;
    logic [WB-1:0] hit_way;
    logic [15:0] hit_vip, hit_backend;
    logic [511:0] touched;
    logic [1:0] kind;
    logic ins_b, aged;
    logic [WB-1:0] ins_way;
    logic [511:0] new_way;
    logic [31:0] reloc;
  } vec_t;
  vec_t v[$];

  initial begin
    string dir, line;
    int fd, n;
    vec_t x;
    logic [127:0] src, dst;
    logic [31:0] t[30];
    logic [BBITS-1:0] ba, bb;
    logic [511:0] tw, nw;
    logic [32*2*WAYS-1:0] ro;
    if (!$value$plusargs("vectors=%s", dir)) dir = "rtl/build/vectors";
    fd = $fopen({dir, "/ct_match.txt"}, "r");
    if (fd == 0) $fatal(1, "cannot open %s/ct_match.txt", dir);
    while ($fgets(line, fd) > 0) begin
      n = $sscanf(line,
          "%h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h %h | %h %h %h %h %h %h %h %h %h %h %h %h",
          src, dst, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9],
          t[10], t[11], t[12], t[13], t[14], t[15], ba, bb, t[25], t[26], ro, t[27], t[28],
          t[16], t[17], t[18], t[19], t[20], tw,
          t[21], t[22], t[23], t[24], nw, t[29]);
      if (n != 37) $fatal(1, "vector %0d: %0d fields read", v.size(), n);
      x.key.src = src;
      x.key.dst = dst;
      x.key.sport = t[0][15:0];
      x.key.dport = t[1][15:0];
      x.key.proto = t[2][7:0];
      x.key.v6 = t[3][0];
      x.key.frag = t[4][0];
      x.reverse = t[5][0];
      x.now = t[6];
      x.len = t[7][15:0];
      x.tcp_flags = t[8][7:0];
      x.new_syn = t[9][0];
      x.new_vip = t[10][15:0];
      x.new_backend = t[11][15:0];
      x.to_syn = t[12];
      x.to_est = t[13];
      x.to_fin = t[14];
      x.to_udp = t[15];
      x.ba = ba;
      x.bb = bb;
      x.a = t[25];
      x.b = t[26];
      x.res_other = ro;
      x.res_placed = t[27][2*WAYS-1:0];
      x.res_full = t[28][2*WAYS-1:0];
      x.reloc = t[29];
      x.hit = t[16][0];
      x.hit_b = t[17][0];
      x.hit_way = t[18][WB-1:0];
      x.hit_vip = t[19][15:0];
      x.hit_backend = t[20][15:0];
      x.touched = tw;
      x.kind = t[21][1:0];
      x.ins_b = t[22][0];
      x.ins_way = t[23][WB-1:0];
      x.aged = t[24][0];
      x.new_way = nw;
      v.push_back(x);
    end
    $fclose(fd);
    if (v.size() < 1000) $fatal(1, "only %0d vectors", v.size());
    $display("lbnic_ct_match_tb: %0d vectors", v.size());
  end

  int unsigned sent = 0, got = 0;
  logic took = 1'b0;
  logic [31:0] rng = 32'h1234_5678;  // xorshift32: gaps and back-pressure
  int unsigned n_in = 0, n_out = 0;  // hits in and out of own_count's range
  int unsigned n_hit = 0, n_free = 0, n_aged = 0, n_reloc = 0, n_evict = 0, n_refused = 0;

  task automatic drive(int unsigned k);
    key = v[k].key;
    reverse = v[k].reverse;
    now = v[k].now;
    len = v[k].len;
    tcp_flags = v[k].tcp_flags;
    new_vip = v[k].new_vip;
    new_backend = v[k].new_backend;
    to_syn = v[k].to_syn;
    to_est = v[k].to_est;
    to_fin = v[k].to_fin;
    to_udp = v[k].to_udp;
    bucket_a = v[k].ba;
    bucket_b = v[k].bb;
    a = v[k].a;
    b = v[k].b;
    res_other = v[k].res_other;
    res_placed = v[k].res_placed;
    res_full = v[k].res_full;
  endtask

  // Drive on the falling edge.
  function automatic logic [31:0] xs(logic [31:0] r);
    r ^= r << 13;
    r ^= r >> 17;
    r ^= r << 5;
    xs = r;
  endfunction

  always @(negedge clk) begin
    if (!rst) begin
      rng = xs(rng);
      if (!in_valid || took) begin
        // The previous beat (if any) was taken at the rising edge.
        if (sent < v.size() && rng[1:0] != 2'd0) begin
          drive(sent);
          in_tag <= sent[0];
          in_valid <= 1'b1;
        end else begin
          in_valid <= 1'b0;
        end
      end
      out_ready <= rng[4:2] != 3'd0;
      own_count <= 16'(rng[8:5]);
    end
  end

  task automatic fail(string what, logic [511:0] g, logic [511:0] e);
    $display("MISMATCH vector %0d: %s", got, what);
    $display("  got      %h", g);
    $display("  expected %h", e);
    $fatal(1, "lbnic_ct_match_tb: mismatch");
  endtask

  // The free ways (invalid or expired at the vector's time: CtTable::
  // expired, written out again here as the check's own rule) of a bucket,
  // for hit_full and ins_full.
  function automatic int unsigned free_ways(logic [BBITS-1:0] d, vec_t x);
    free_ways = 0;
    for (int i = 0; i < WAYS; i++) begin
      logic [511:0] w;
      logic [7:0] fl, pr, st;
      logic [31:0] to;
      w = d[512*i +: 512];
      fl = w[8*lbnic_pkg::CT_WAY_FLAGS_OFF +: 8];
      pr = w[8*lbnic_pkg::CT_WAY_PROTO_OFF +: 8];
      st = w[8*lbnic_pkg::CT_WAY_TCP_STATE_OFF +: 8];
      if (st > 8'(lbnic_pkg::TCP_STATE_CLOSED)) st = 8'(lbnic_pkg::TCP_STATE_NONE);
      if ((fl & 8'(lbnic_pkg::CT_WAY_FLAG_FRAG)) != 0) to = x.to_syn;
      else if (pr != 8'd6) to = x.to_udp;
      else if (st == 8'(lbnic_pkg::TCP_STATE_SYN_SEEN)) to = x.to_syn;
      else if (st >= 8'(lbnic_pkg::TCP_STATE_CLOSING)) to = x.to_fin;
      else to = x.to_est;
      if ((fl & 8'(lbnic_pkg::CT_WAY_FLAG_VALID)) == 0
          || x.now - w[8*lbnic_pkg::CT_WAY_LAST_SEEN_OFF +: 32] > to)
        free_ways++;
    end
  endfunction

  // Check on the rising edge.
  always @(posedge clk) begin
    if (!rst) begin
      took = in_valid && in_ready;
      if (took) sent <= sent + 1;
      if (out_valid && out_ready) begin
        vec_t e;
        logic [51:0] eh;
        e = v[got];
        eh = early_q.pop_front();
        if (out_tag != got[0] || eh[33] != got[0])
          fail("tag (early, out)", 512'({eh[33], out_tag}), 512'({got[0], got[0]}));
        if (eh[32] != hit || (hit && eh[31:0] != {hit_vip, hit_backend}))
          fail("early hit, VIP, backend", 512'(eh), 512'({hit, hit_vip, hit_backend}));
        if (eh[51] != (hit && hit_vip == e.new_vip))
          fail("early_own", 512'(eh[51]), 512'({hit, hit_vip, e.new_vip}));
        if (eh[50] != (hit && hit_backend < eh[49:34]))
          fail("early_in", 512'(eh[50]), 512'({hit, hit_backend, eh[49:34]}));
        if (hit) begin
          if (eh[50]) n_in++;
          else n_out++;
        end
        if (hit != e.hit) fail("hit", 512'(hit), 512'(e.hit));
        if (e.hit) begin
          n_hit++;
          if (hit_b != e.hit_b) fail("hit bucket (0 a, 1 b)", 512'(hit_b), 512'(e.hit_b));
          if (hit_way != e.hit_way) fail("hit way", 512'(hit_way), 512'(e.hit_way));
          if (hit_vip != e.hit_vip) fail("hit vip", 512'(hit_vip), 512'(e.hit_vip));
          if (hit_backend != e.hit_backend) fail("hit backend", 512'(hit_backend), 512'(e.hit_backend));
          if (touched != e.touched) fail("touched way", touched, e.touched);
        end
        if (ins_kind != e.kind)
          fail("insert kind (0 free, 1 relocate, 2 evict, 3 refused)", 512'(ins_kind), 512'(e.kind));
        if (e.kind != 2'd3) begin
          if (ins_b != e.ins_b) fail("insert bucket", 512'(ins_b), 512'(e.ins_b));
          if (ins_way != e.ins_way) fail("insert way", 512'(ins_way), 512'(e.ins_way));
          // A relocation's "aged" is the target's way: the posted RMW's.
          if (e.kind != 2'd1 && ins_aged != e.aged) fail("insert aged", 512'(ins_aged), 512'(e.aged));
          if (new_way != e.new_way) fail("new way", new_way, e.new_way);
        end
        // the write's bucket and its full hint after it (a posted unit's)
        // (a refused insert's vector has no bucket)
        if ((e.hit || e.kind != 2'd3) && way_b != (e.hit ? e.hit_b : e.ins_b))
          fail("way_b (the hit's bucket, else the insert's)", 512'(way_b), 512'({e.hit, e.hit_b, e.ins_b}));
        if (hit_in != (hit_backend < own_fill))
          fail("hit_in", 512'(hit_in), 512'({hit_backend, own_fill}));
        if (e.hit && hit_own != (e.hit_vip == e.new_vip))
          fail("hit_own", 512'(hit_own), 512'({e.hit_vip, e.new_vip}));
        if (e.hit && hit_full != (free_ways(e.hit_b ? e.bb : e.ba, e) == 0))
          fail("hit_full", 512'(hit_full), 512'(free_ways(e.hit_b ? e.bb : e.ba, e)));
        if (ins_full != (e.kind != 2'd0 || free_ways(e.ins_b ? e.bb : e.ba, e) == 1))
          fail("ins_full", 512'(ins_full), 512'(free_ways(e.ins_b ? e.bb : e.ba, e)));
        if (e.kind == 2'd1 && reloc_bucket != e.reloc)
          fail("relocation target bucket", 512'(reloc_bucket), 512'(e.reloc));
        if (e.new_syn != (new_way.tcp_state == 8'(lbnic_pkg::TCP_STATE_SYN_SEEN)))
          fail("new entry is a SYN", 512'(new_way.tcp_state), 512'(e.new_syn));
        case (e.kind)
          2'd0: if (e.aged) n_aged++; else n_free++;
          2'd1: n_reloc++;
          2'd2: n_evict++;
          default: n_refused++;
        endcase
        got <= got + 1;
        if (got + 1 == v.size()) begin
          $display("lbnic_ct_match_tb: %0d hits; inserts: %0d free, %0d aged-out, %0d relocations, %0d evictions, %0d refused",
                   n_hit, n_free, n_aged, n_reloc, n_evict, n_refused);
          // (both sides of the in-range compare seen)
          if (n_in == 0 || n_out == 0) $fatal(1, "lbnic_ct_match_tb: early_in %0d / %0d", n_in, n_out);
          $display("lbnic_ct_match_tb: early hits in range %0d, out %0d", n_in, n_out);
          $display("PASS lbnic_ct_match_tb: %0d vectors", v.size());
          $finish;
        end
      end
    end
  end

  initial begin
    repeat (3) @(posedge clk);
    @(negedge clk) rst = 1'b0;
    #(100 * 1000 * 1000);
    $fatal(1, "lbnic_ct_match_tb: timeout (%0d of %0d checked)", got, v.size());
  end
endmodule
