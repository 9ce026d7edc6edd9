// The ICMP "too big" answer REWRITE emits in place of a packet whose rewrite
// is longer than GLOBAL max_frame (spec §12.1 point 3 "Path MTU" and "Rate
// limit"; Rust hw_model::pipeline::too_big, hw_model::packet::icmp::
// {answerable, too_big, RateLimit}).
//
// Per packet (descriptor d_*, valid/ready), in order:
//  1. rules that need only the descriptor: a Forward decision (else reason
//     6, no token), not an ICMP error (1), not a later fragment (2);
//  2. pass 1: the frame is read once from the packet buffer (rd_* request,
//     then the frame on s_axis from byte 0): the IPv4 flags byte (DF), the
//     VLAN tags and ethertype, and the one's-complement sum of the quote are
//     taken from it. Skipped when rule 1 failed, or for IPv6 when rules 4-5
//     fail already (they need no frame). Then: IPv4 with DF (3), a unicast
//     source (4: not unspecified, broadcast, multicast, loopback), the
//     announced MTU max - (len - l3_len) not below 68 / 1280 (5) -- the
//     Rust rules, reported in their order;
//  3. an answerable packet takes a token from the device-wide bucket
//     (lbnic_icmp_rate, in packet order; its refill is prepared from the
//     descriptor during pass 1, the take is one clock): none ->
//     icmp_rate_limited;
//  4. pass 2: the frame is read again and the answer streamed on m_axis:
//     Ethernet to the frame's source MAC from the device MAC with the
//     frame's VLAN tags, IPv4 (TOS 0xc0, id 0, DF, TTL 64, header checksum)
//     or IPv6 (hop limit 64) from the VIP to the client, ICMPv4 3/4 with
//     the next-hop MTU or ICMPv6 2 with the MTU, the checksum (pass 1's sum,
//     ICMPv6 with the pseudo-header), the quote (the offending IP packet up
//     to 576 / 1280 bytes of ICMP datagram and max_frame), zero padding to
//     60 bytes; the rest of the frame is read and dropped;
//  5. the result r_*: reason, sent (icmp_too_big_sent), rate-limited
//     (icmp_rate_limited). drop_too_big is REWRITE's, for every packet.
// Why two passes (spec §12.2): the checksum precedes the quote it covers;
// reading the slot's frame twice needs no answer buffer and no change to
// RX, and costs buffer bandwidth only for too-big packets, at most the
// budget's worth of them twice.
//
// The quote is the frame shifted by H = 28 (IPv4) / 48 (IPv6) bytes
// (l3_offset = l2_len), so the answer needs the current input beat and
// ceil(48 / DATA_BYTES) earlier ones. Frames are beats of DATA_BYTES from
// byte 0, all full but the last (tkeep is not looked at: the quote lies
// within l3_offset + l3_len, which parse checked against the frame).
module lbnic_icmp_too_big #(
    parameter int unsigned DATA_BYTES = lbnic_pkg::TARGET_DATAPATH_BYTES,
    parameter int unsigned TICK_US    = lbnic_pkg::TARGET_CT_TICK_US
) (
    input  logic clk,
    input  logic rst,
    input  logic clear,               // CONTROL.RESET: the bucket full again

    input  logic                    d_valid,
    output logic                    d_ready,
    input  lbnic_pipe_pkg::parsed_t d_parsed,
    input  logic                    d_forward,   // Decision::Forward
    input  logic [16:0]             d_len,       // RewriteError::TooBig len
    input  logic [15:0]             d_max,       // RewriteError::TooBig max
    input  logic [15:0]             d_max_frame, // GLOBAL max_frame
    input  logic [47:0]             d_device_mac,
    input  logic [31:0]             d_now,       // ingress device time, ticks
    input  logic [31:0]             d_icmp_rate,
    input  logic [31:0]             d_icmp_burst,

    output logic rd_valid,            // read the packet's frame from byte 0
    input  logic rd_ready,

    input  logic [8*DATA_BYTES-1:0] s_tdata,
    input  logic [DATA_BYTES-1:0]   s_tkeep,
    input  logic                    s_tlast,
    input  logic                    s_tvalid,
    output logic                    s_tready,

    output logic [8*DATA_BYTES-1:0] m_tdata,
    output logic [DATA_BYTES-1:0]   m_tkeep,
    output logic                    m_tlast,
    output logic                    m_tvalid,
    input  logic                    m_tready,

    output logic       r_valid,
    input  logic       r_ready,
    output logic [2:0] r_reason,      // 0 answerable, else the first rule refusing
    output logic       r_sent,
    output logic       r_rate_limited
);
  localparam int unsigned B = DATA_BYTES;
  localparam int unsigned NP = (48 + B - 1) / B;   // earlier beats kept
  localparam int unsigned W = (NP + 1) * B;        // window bytes
  localparam int unsigned HDR = 22 + 48;           // longest L2 + IP + ICMP header
  localparam int BI = B;
  localparam int HDRI = HDR;

  localparam logic [2:0] R_OK = 3'd0, R_ICMP_ERROR = 3'd1, R_LATER = 3'd2,
                         R_NO_DF = 3'd3, R_NOT_UNICAST = 3'd4, R_BELOW_MIN = 3'd5,
                         R_NOT_FORWARD = 3'd6;

  typedef enum logic [3:0] {
    S_IDLE, S_REQ1, S_SUM, S_DECIDE, S_RATE, S_RATE_WAIT, S_REQ2, S_EMIT, S_DRAIN, S_RES
  } state_e;
  state_e state;

  // ---- the packet, latched --------------------------------------------
  logic         v6;
  logic [47:0]  client_mac, dev_mac;
  logic [127:0] client, vip;          // octet k on [8k+7:8k]
  logic [4:0]   l2_len;
  logic [15:0]  mtu;
  logic [15:0]  qlen;                 // quote bytes
  logic         unicast, mtu_ok;
  logic [2:0]   reason;
  logic         sent, limited;

  // ---- descriptor arithmetic ---------------------------------------------
  // Latched in S_IDLE: the MTU and its rules; the quote's room to its
  // family's limit. The quote's length follows in S_REQ1. The saturating
  // steps are compares side by side and a choice after, not one after
  // another (that was 11 LUT levels, spec §13 "Synthesis").
  lbnic_pipe_pkg::parsed_t p;
  assign p = d_parsed;
  logic [17:0] slack;                 // max - (len - l3_len), signed
  /* verilator lint_off UNUSEDSIGNAL */ // their signs
  logic [17:0] ok68_d, ok1280_d;      // slack - 68, slack - 1280
  /* verilator lint_on UNUSEDSIGNAL */
  logic        ok68, ok1280;
  logic        fits;                  // len <= l3_len: the MTU is max
  logic [15:0] mtu_c, lim, room0_c;
  logic [15:0] room0, l3_len;         // latched
  logic        unicast_c, mtu_ok_c;
  always_comb begin
    fits  = d_len <= {1'b0, p.l3_len};
    slack = 18'(d_max) + 18'(p.l3_len) - 18'(d_len);
    ok68_d = 18'(d_max) + 18'(p.l3_len) - 18'(d_len) - 18'd68;
    ok1280_d = 18'(d_max) + 18'(p.l3_len) - 18'(d_len) - 18'd1280;
    mtu_c = fits ? d_max : (!slack[17] && slack != '0) ? slack[15:0] : 16'd0;
    // slack >= the family's least MTU, as the sign of one sum
    ok68   = !ok68_d[17];
    ok1280 = !ok1280_d[17];
    lim   = p.ipv6 ? 16'd1280 : 16'd576;
    // min(lim, max_frame - l2_len), saturating at 0
    if ({1'b0, d_max_frame} >= 17'(lim) + 17'(p.l2_len)) room0_c = lim;
    else if (d_max_frame > 16'(p.l2_len)) room0_c = d_max_frame - 16'(p.l2_len);
    else room0_c = 16'd0;
    if (p.ipv6) begin
      unicast_c = !(p.src == '0 || p.src[0] == 8'hff ||
                    p.src == 128'h01000000_00000000_00000000_00000000);
      mtu_ok_c  = fits ? d_max >= 16'd1280 : ok1280;
    end else begin
      unicast_c = !(p.src[15:12] == 32'h0 || p.src[15:12] == 32'hffffffff ||
                    p.src[12][7:4] == 4'he || p.src[12] == 8'd127);
      mtu_ok_c  = fits ? d_max >= 16'd68 : ok68;
    end
  end
  // in S_REQ1: min(l3_len, room0 - the answer's headers), saturating
  logic [15:0] h, room, qlen_c;
  always_comb begin
    h      = v6 ? 16'd48 : 16'd28;
    room   = (room0 > h) ? room0 - h : 16'd0;
    qlen_c = (l3_len < room) ? l3_len : room;
  end

  // ---- frame positions --------------------------------------------------
  logic [15:0] base;                  // frame position of the current beat
  logic        in_done;               // the frame's last beat was taken
  logic        df;                    // IPv4 flags byte bit 6
  logic [79:0] l2cap;                 // frame bytes 12..21 (tags, ethertype)
  logic [15:0] qsum;                  // the quote's sum, folded
  logic [15:0] q_hi;                  // where the quote ends
  logic [15:0] df_at;                 // where the IPv4 flags byte is
  logic        s_fire, m_fire;

  // Pass 1: the quote's sum (lbnic_csum_pipe: the bytes masked and added
  // as a tree over three clocks, then accumulated; in one clock it was 17
  // LUT levels, spec §13 "Synthesis"), ready 4 clocks after pass 1's last
  // beat, before pass 2 needs it (S_DECIDE, the take and its result come
  // between: `q_done` only guards it); DF and L2 bytes.
  localparam int unsigned LBI = $clog2(B);
  logic        q_valid, q_last, q_done;
  /* verilator lint_off UNUSEDSIGNAL */
  logic        nouser;     // no per-beat data rides along
  /* verilator lint_on UNUSEDSIGNAL */
  lbnic_csum_pipe #(.DATA_BYTES(B)) quote_add (
      .clk, .rst, .in_valid(state == S_SUM && s_fire), .in_first(base == '0), .in_last(s_tlast),
      .in_user(1'b0), .beat(base[15:LBI]), .data(s_tdata), .keep({B{1'b1}}),
      .lo(16'(l2_len)), .hi(q_hi), .out_valid(q_valid), .out_last(q_last), .out_user(nouser),
      .out_sum(qsum)
  );
  always_ff @(posedge clk) begin
    if (rst || state == S_REQ1) q_done <= 1'b0;
    else if (q_valid && q_last) q_done <= 1'b1;
  end

  // ---- headers ----------------------------------------------------------
  logic [15:0] icmp_len;
  logic [31:0] ip4_acc;
  logic [15:0] ip4_ck;
  logic [31:0] icmp_acc;
  logic [15:0] icmp_ck;
  logic [8*48-1:0] ih;               // IP + ICMP header, byte 0 first
  logic [8*HDR-1:0] hdr;             // the answer's first HDR bytes
  logic [15:0] hdr_len, cont_len, out_len;

  function automatic logic [15:0] fold(input logic [31:0] a);
    logic [31:0] t;
    t = {16'd0, a[15:0]} + {16'd0, a[31:16]};
    t = {16'd0, t[15:0]} + {16'd0, t[31:16]};
    fold = t[15:0];
  endfunction

  function automatic logic [15:0] w16(input logic [127:0] a, input int unsigned k);
    w16 = {a[8*k +: 8], a[8*k+8 +: 8]};
  endfunction

  // the words of a 16-byte address added as a tree
  function automatic logic [31:0] addr_sum(input logic [127:0] a);
    addr_sum = ((32'(w16(a, 0)) + 32'(w16(a, 2))) + (32'(w16(a, 4)) + 32'(w16(a, 6))))
             + ((32'(w16(a, 8)) + 32'(w16(a, 10))) + (32'(w16(a, 12)) + 32'(w16(a, 14))));
  endfunction

  // The headers' sums but the quote's, registered: the packet's fields are
  // latched in S_IDLE (the quote's length in S_REQ1) and read from S_REQ2
  // on, 4 clocks later at the least (pass 1, the decision, the take).
  // The addresses' sum for ICMPv6 is latched beside them (`vc_sum`, from
  // the descriptor: it changes in the clock they do, so icmp_part keeps
  // its value in every clock): its adder tree and the add of the rest in
  // one clock from the latched addresses were 7-8 LUT levels into icmp_part.
  logic [31:0] ip4_part, icmp_part, vc_sum;
  always_ff @(posedge clk) begin
    ip4_part <= (32'h45c0 + {16'd0, qlen + 16'd28}) + (32'h4000 + 32'h4001)
              + ((32'(w16(vip, 12)) + 32'(w16(vip, 14))) + (32'(w16(client, 12)) + 32'(w16(client, 14))));
    // (0x0200 + 58 + icmp_len, its 8 with the constants: two adds deep)
    if (v6) icmp_part <= (vc_sum + 32'(qlen)) + (32'(mtu) + 32'h0242);
    else icmp_part <= 32'h0304 + 32'(mtu);
  end

  assign icmp_len = 16'd8 + qlen;

  // The answer's lengths, registered like the sums above.
  logic [15:0] hdr_len_c, cont_len_c;
  assign hdr_len_c  = 16'(l2_len) + (v6 ? 16'd48 : 16'd28);
  assign cont_len_c = hdr_len_c + qlen;
  always_ff @(posedge clk) begin
    hdr_len  <= hdr_len_c;
    cont_len <= cont_len_c;
    out_len  <= (cont_len_c < 16'd60) ? 16'd60 : cont_len_c;
  end
  always_comb begin
    ip4_acc = ip4_part;
    ip4_ck = ~fold(ip4_acc);
    icmp_acc = icmp_part + 32'(qsum);
    icmp_ck = ~fold(icmp_acc);
    ih = '0;
    if (v6) begin
      ih[8*0 +: 8] = 8'h60;
      ih[8*4 +: 8] = icmp_len[15:8];
      ih[8*5 +: 8] = icmp_len[7:0];
      ih[8*6 +: 8] = 8'd58;
      ih[8*7 +: 8] = 8'd64;
      ih[8*8 +: 128] = vip;
      ih[8*24 +: 128] = client;
      ih[8*40 +: 8] = 8'd2;
      ih[8*42 +: 8] = icmp_ck[15:8];
      ih[8*43 +: 8] = icmp_ck[7:0];
      ih[8*46 +: 8] = mtu[15:8];
      ih[8*47 +: 8] = mtu[7:0];
    end else begin
      ih[8*0 +: 8] = 8'h45;
      ih[8*1 +: 8] = 8'hc0;
      ih[8*2 +: 8] = 8'((icmp_len + 16'd20) >> 8);
      ih[8*3 +: 8] = 8'(icmp_len + 16'd20);
      ih[8*6 +: 8] = 8'h40;
      ih[8*8 +: 8] = 8'd64;
      ih[8*9 +: 8] = 8'd1;
      ih[8*10 +: 8] = ip4_ck[15:8];
      ih[8*11 +: 8] = ip4_ck[7:0];
      ih[8*12 +: 32] = vip[8*12 +: 32];
      ih[8*16 +: 32] = client[8*12 +: 32];
      ih[8*20 +: 8] = 8'd3;
      ih[8*21 +: 8] = 8'd4;
      ih[8*22 +: 8] = icmp_ck[15:8];
      ih[8*23 +: 8] = icmp_ck[7:0];
      ih[8*26 +: 8] = mtu[15:8];
      ih[8*27 +: 8] = mtu[7:0];
    end
    hdr = '0;
    hdr[0 +: 48] = client_mac;
    hdr[48 +: 48] = dev_mac;
    case (l2_len)
      5'd18: begin
        hdr[96 +: 48] = l2cap[0 +: 48];
        hdr[8*18 +: 8*48] = ih;
      end
      5'd22: begin
        hdr[96 +: 80] = l2cap;
        hdr[8*22 +: 8*48] = ih;
      end
      default: begin
        hdr[96 +: 16] = l2cap[0 +: 16];
        hdr[8*14 +: 8*48] = ih;
      end
    endcase
  end

  // ---- pass 2: the answer beat --------------------------------------------
  logic [8*NP*B-1:0] hist;           // the NP beats before the current one
  logic [8*HDR-1:0]  hdr_sh;         // hdr from the current beat's position on
  logic [8*B-1:0]    cur;
  logic [8*W-1:0]    win;
  logic [8*B-1:0]    o_data;
  logic [B-1:0]      o_keep;
  logic              o_last;
  always_comb begin
    cur = in_done ? '0 : s_tdata;
    win = {cur, hist};
    o_data = '0;
    o_keep = '0;
    for (int j = 0; j < BI; j++) begin
      if (base + 16'(j) < hdr_len) begin
        if (j < HDRI) o_data[8*j +: 8] = hdr_sh[8*j +: 8];
      end else if (base + 16'(j) < cont_len) begin
        o_data[8*j +: 8] = v6 ? win[8*(NP*B + j - 48) +: 8] : win[8*(NP*B + j - 28) +: 8];
      end
      o_keep[j] = base + 16'(j) < out_len;
    end
    o_last = base + 16'(B) >= out_len;
  end

  // ---- handshakes -----------------------------------------------------------
  // The bucket's refill is prepared with the descriptor (every one: a prep
  // changes nothing) and ready PREP_LAT (3) clocks later, before S_RATE,
  // which comes 4 clocks after S_IDLE at the earliest (S_REQ1, one beat of
  // S_SUM, S_DECIDE): the take never waits (a guard all the same).
  logic rq_valid, rq_ready, rs_valid, rs_send, rs_limited;
  lbnic_icmp_rate #(.TICK_US(TICK_US)) u_rate (
      .clk, .rst, .clear,
      .prep_valid(d_valid && d_ready), .prep_now(d_now), .prep_rate(d_icmp_rate),
      .prep_burst(d_icmp_burst),
      .take_ready(rq_ready), .take_valid(rq_valid),
      .res_valid(rs_valid), .res_send(rs_send), .res_rate_limited(rs_limited)
  );
  assign rq_valid = state == S_RATE;

  assign d_ready  = state == S_IDLE;
  // pass 2 waits for the quote's sum (never: lbnic_icmp_too_big_tb checks)
  logic q_wait;
  assign q_wait   = state == S_REQ2 && !(q_done || (q_valid && q_last));
  assign rd_valid = state == S_REQ1 || (state == S_REQ2 && !q_wait);
  assign r_valid  = state == S_RES;
  assign r_reason = reason;
  assign r_sent   = sent;
  assign r_rate_limited = limited;

  assign m_tdata  = o_data;
  assign m_tkeep  = o_keep;
  assign m_tlast  = o_last;
  assign m_tvalid = state == S_EMIT && (in_done || s_tvalid);
  always_comb begin
    case (state)
      S_SUM, S_DRAIN: s_tready = 1'b1;
      S_EMIT:         s_tready = !in_done && m_tready;
      default:        s_tready = 1'b0;
    endcase
  end

  assign s_fire = s_tvalid && s_tready;
  assign m_fire = m_tvalid && m_tready;

  always_ff @(posedge clk) begin
    if (rst) begin
      state   <= S_IDLE;
      reason  <= R_OK;
      sent    <= 1'b0;
      limited <= 1'b0;
    end else begin
      case (state)
        S_IDLE: if (d_valid) begin
          v6         <= p.ipv6;
          client_mac <= p.src_mac;
          dev_mac    <= d_device_mac;
          client     <= p.src;
          vip        <= p.dst;
          vc_sum     <= addr_sum(p.dst) + addr_sum(p.src);
          l2_len     <= 5'(p.l2_len);
          mtu        <= mtu_c;
          room0      <= room0_c;
          l3_len     <= p.l3_len;
          unicast    <= unicast_c;
          mtu_ok     <= mtu_ok_c;
          sent       <= 1'b0;
          limited    <= 1'b0;
          if (!d_forward) begin
            reason <= R_NOT_FORWARD;
            state  <= S_RES;
          end else if (p.icmp_error_valid) begin
            reason <= R_ICMP_ERROR;
            state  <= S_RES;
          end else if (p.frag == lbnic_pipe_pkg::FRAG_LATER) begin
            reason <= R_LATER;
            state  <= S_RES;
          end else if (p.ipv6 && !unicast_c) begin
            reason <= R_NOT_UNICAST;
            state  <= S_RES;
          end else if (p.ipv6 && !mtu_ok_c) begin
            reason <= R_BELOW_MIN;
            state  <= S_RES;
          end else begin
            state <= S_REQ1;
          end
        end
        S_REQ1: if (rd_ready) begin
          base  <= '0;
          qlen  <= qlen_c;
          q_hi  <= 16'(l2_len) + qlen_c;
          df_at <= 16'(l2_len) + 16'd6;
          df    <= 1'b0;
          state <= S_SUM;
        end
        S_SUM: if (s_fire) begin
          // bytes at known frame positions: a lane select in the beat
          // that holds them, not a compare per lane (a priority chain)
          if (base[15:LBI] == df_at[15:LBI]) df <= s_tdata[8*df_at[LBI-1:0] + 6];
          for (int k = 0; k < 10; k++) begin
            if (base == 16'((12 + k) / BI * BI)) l2cap[8*k +: 8] <= s_tdata[8*((12 + k) % BI) +: 8];
          end
          base <= base + 16'(B);
          if (s_tlast) state <= S_DECIDE;
        end
        S_DECIDE: begin
          if (!v6 && !df) begin
            reason <= R_NO_DF;
            state  <= S_RES;
          end else if (!unicast) begin
            reason <= R_NOT_UNICAST;
            state  <= S_RES;
          end else if (!mtu_ok) begin
            reason <= R_BELOW_MIN;
            state  <= S_RES;
          end else begin
            reason <= R_OK;
            state  <= S_RATE;
          end
        end
        S_RATE: if (rq_ready) state <= S_RATE_WAIT;
        S_RATE_WAIT: if (rs_valid) begin
          sent    <= rs_send;
          limited <= rs_limited;
          state   <= rs_send ? S_REQ2 : S_RES;
        end
        S_REQ2: if (rd_valid && rd_ready) begin
          base    <= '0;
          in_done <= 1'b0;
          hist    <= '0;
          hdr_sh  <= hdr;
          state   <= S_EMIT;
        end
        S_EMIT: if (m_fire) begin
          base   <= base + 16'(B);
          hist   <= win[8*W-1 : 8*B];
          hdr_sh <= hdr_sh >> (8 * B);
          if (s_fire && s_tlast) in_done <= 1'b1;
          if (o_last) state <= (in_done || (s_fire && s_tlast)) ? S_RES : S_DRAIN;
        end
        S_DRAIN: if (s_fire && s_tlast) state <= S_RES;
        S_RES: if (r_ready) state <= S_IDLE;
        default: state <= S_IDLE;
      endcase
    end
  end

`ifndef SYNTHESIS
  // icmp_part against its sum from the latched addresses, a clock behind
  // (from the second clock after the first descriptor: vc_sum and the
  // addresses start unrelated)
  logic [31:0] icmp_part_ref;
  logic        vc_seen, vc_seen2;
  always_ff @(posedge clk) begin
    if (v6) icmp_part_ref <= (addr_sum(vip) + addr_sum(client))
                             + ((32'h0200 + 32'd58) + (32'(mtu) + 32'(icmp_len)));
    else icmp_part_ref <= 32'h0304 + 32'(mtu);
    if (rst) begin
      vc_seen <= 1'b0;
      vc_seen2 <= 1'b0;
    end else begin
      if (state == S_IDLE && d_valid) vc_seen <= 1'b1;
      vc_seen2 <= vc_seen;
    end
    if (!rst && vc_seen2 && icmp_part != icmp_part_ref)
      $error("lbnic_icmp_too_big: icmp_part apart from the latched addresses' sum");
  end
`endif

  // s_tkeep: frames are full beats but the last (see above).
  logic unused;
  assign unused = ^{s_tkeep, p.status, p.reason, p.dst_mac, p.vlan_valid, p.vlan, p.l3_offset,
                    p.proto, p.l4_offset, p.frag_id, p.sport, p.dport, p.tcp_flags,
                    p.icmp_error, p.frag[0], p.tos, p.df};
endmodule
