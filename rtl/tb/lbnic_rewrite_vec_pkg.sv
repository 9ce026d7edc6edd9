// The REWRITE vectors (<vectors>/rewrite.txt, written by
// model-tests/examples/rtl_vectors_rewrite.rs), read in one place for the
// testbenches that drive lbnic_rewrite (lbnic_rewrite_tb, lbnic_egress_tb):
// per packet a head (the decision, the parsed fields, the quote's sums,
// the VIP / backend / GLOBAL entries, the IP packet's sum, the model's
// status), then the frame's bytes, then the model's output's.
package lbnic_rewrite_vec_pkg;
  typedef struct packed {
    lbnic_pipe_pkg::decision_t dec;
    lbnic_pipe_pkg::parsed_t parsed;   // the MACs are left 0
    logic [15:0] quote_ip_csum, quote_l4_csum;
    logic [15:0] len;                  // meta.len
    lbnic_pkg::vip_t vip;
    lbnic_pkg::backend_t be;
    lbnic_pkg::global_t glob;
    logic [15:0] l3_sum;
    logic [2:0] st_kind;               // the model's status, as lbnic_rewrite's st_kind
    logic [15:0] st_len, st_max;       // a too-big packet's
    logic [15:0] flen;                 // the frame's bytes, which follow
  } head_t;

  // The next packet's head (n: its number, for the message); 0 at the end
  // of the file.
  function automatic bit read_head(int fd, int n, output head_t h);
    int r;
    logic [31:0] kind, slot, lidx, hash, drop, l2_len, l3off, ipv6, proto, l3len, l4off, frag;
    logic [31:0] sport, dport, icmperr, tos, df, mlen, l3sum, est, elen, emax, flen;
    logic [127:0] src, dst, isrc, idst;
    logic [31:0] iproto, isport, idport, il4off, qhc, ql4c;
    logic [511:0] vipv;
    logic [255:0] bev;
    logic [2047:0] globv;
    h = '0;
    r = $fscanf(fd, "%h %h %h %h %h", kind, slot, lidx, hash, drop);
    if (r != 5) return 1'b0;
    r = $fscanf(fd, "%h %h %h %h %h %h %h %h %h %h %h %h %h %h", l2_len, l3off, ipv6, src, dst,
                proto, l3len, l4off, frag, sport, dport, icmperr, tos, df);
    if (r != 14) $fatal(1, "rewrite vector %0d: parsed fields cut short", n);
    r = $fscanf(fd, "%h %h %h %h %h %h %h %h", isrc, idst, iproto, isport, idport, il4off,
                qhc, ql4c);
    if (r != 8) $fatal(1, "rewrite vector %0d: ICMP error fields cut short", n);
    r = $fscanf(fd, "%h %h %h %h %h %h %h %h %h", mlen, vipv, bev, globv, l3sum, est, elen,
                emax, flen);
    if (r != 9) $fatal(1, "rewrite vector %0d: entries and status cut short", n);
    h.dec.kind = lbnic_pipe_pkg::decision_e'(kind[1:0]);
    h.dec.drop_counter = drop[7:0];
    h.dec.slot = slot[15:0];
    h.dec.local_index = lidx[15:0];
    h.dec.hash = hash;
    h.parsed.l2_len = l2_len[13:0];
    h.parsed.l3_offset = l3off[13:0];
    h.parsed.ipv6 = ipv6[0];
    h.parsed.src = src;
    h.parsed.dst = dst;
    h.parsed.proto = proto[7:0];
    h.parsed.l3_len = l3len[15:0];
    h.parsed.l4_offset = l4off[13:0];
    h.parsed.frag = lbnic_pipe_pkg::frag_e'(frag[1:0]);
    h.parsed.sport = sport[15:0];
    h.parsed.dport = dport[15:0];
    h.parsed.icmp_error_valid = icmperr[0];
    h.parsed.tos = tos[7:0];
    h.parsed.df = df[0];
    h.parsed.icmp_error.src = isrc;
    h.parsed.icmp_error.dst = idst;
    h.parsed.icmp_error.proto = iproto[7:0];
    h.parsed.icmp_error.sport = isport[15:0];
    h.parsed.icmp_error.dport = idport[15:0];
    h.parsed.icmp_error.l4_offset = il4off[13:0];
    h.quote_ip_csum = qhc[15:0];
    h.quote_l4_csum = ql4c[15:0];
    h.len = mlen[15:0];
    h.vip = lbnic_pkg::vip_t'(vipv);
    h.be = lbnic_pkg::backend_t'(bev);
    h.glob = lbnic_pkg::global_t'(globv);
    h.l3_sum = l3sum[15:0];
    h.st_kind = est[2:0];
    h.st_len = elen[15:0];
    h.st_max = emax[15:0];
    h.flen = flen[15:0];
    return 1'b1;
  endfunction

  typedef byte unsigned bytes_t[$];

  // n bytes (a frame, or the model's output after its length, read_len)
  function automatic bytes_t read_bytes(int fd, int n);
    logic [31:0] b;
    bytes_t q;
    q.delete();  // (Verilator 5.006 keeps a function's queue from the call before)
    for (int i = 0; i < n; i++) begin
      if ($fscanf(fd, "%h", b) != 1) $fatal(1, "rewrite vectors: bytes cut short");
      q.push_back(b[7:0]);
    end
    return q;
  endfunction

  function automatic int read_len(int fd);
    logic [31:0] n;
    if ($fscanf(fd, "%h", n) != 1) $fatal(1, "rewrite vectors: output length missing");
    return int'(n);
  endfunction
endpackage
