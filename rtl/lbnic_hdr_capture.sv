// Header capture of the receive path (spec §12.1.1, rtl/README.md): from the
// RX AXI-Stream of frames (DATA_BYTES per beat, byte k of a beat on bits
// [8k+7:8k], tkeep contiguous from lane 0, tlast on a frame's last beat),
// the beats go on unchanged to `m_*` (the packet buffer), and per frame a
// descriptor leaves on `hdr_*`: the header window (the frame's first W =
// lbnic_pkg::PARSE_WINDOW bytes, zero past the frame's end, byte k on bits
// [8k+7:8k]) and the frame length in bytes, when the frame's last beat has
// passed.
//
// The beat path is combinational (m_t* = s_t*, s_tready = m_tready): one beat
// per clock, no bubbles, no added latency. The only stall: a frame's last
// beat waits while the previous frame's descriptor is still held (hdr_valid
// && !hdr_ready). The descriptor is registered: hdr_valid rises the clock
// after the last beat's handshake.
//
// W must be a multiple of DATA_BYTES or smaller than it is not supported;
// frame lengths count modulo 2^16 (the pipeline's max_frame is below that).
module lbnic_hdr_capture #(
    parameter int unsigned DATA_BYTES = 64,
    parameter int unsigned W = lbnic_pkg::PARSE_WINDOW
) (
    input  logic clk,
    input  logic rst,
    // RX
    input  logic                    s_tvalid,
    output logic                    s_tready,
    input  logic [8*DATA_BYTES-1:0] s_tdata,
    input  logic [DATA_BYTES-1:0]   s_tkeep,
    input  logic                    s_tlast,
    // to the packet buffer
    output logic                    m_tvalid,
    input  logic                    m_tready,
    output logic [8*DATA_BYTES-1:0] m_tdata,
    output logic [DATA_BYTES-1:0]   m_tkeep,
    output logic                    m_tlast,
    // the descriptor
    output logic                    hdr_valid,
    input  logic                    hdr_ready,
    output logic [8*W-1:0]          hdr_window,
    output logic [15:0]             hdr_len
);
  localparam int unsigned NB = W / DATA_BYTES;  // beats the window spans
  localparam int unsigned BW = $clog2(NB + 1);

  logic           stall;
  logic           fire;
  logic [BW-1:0]  beat;       // beats of the current frame so far, saturating at NB
  logic [8*W-1:0] acc;        // window of the current frame so far
  logic [15:0]    len;        // bytes of the current frame so far
  logic [8*DATA_BYTES-1:0] masked;
  logic [15:0]    nkeep;
  logic [8*W-1:0] acc_next;
  logic [15:0]    len_next;

  assign stall = s_tlast && hdr_valid && !hdr_ready;
  assign s_tready = m_tready && !stall;
  assign m_tvalid = s_tvalid && !stall;
  assign m_tdata = s_tdata;
  assign m_tkeep = s_tkeep;
  assign m_tlast = s_tlast;
  assign fire = s_tvalid && s_tready;

  always_comb begin
    nkeep = 16'd0;
    for (int k = 0; k < DATA_BYTES; k++) begin
      masked[8*k+:8] = s_tkeep[k] ? s_tdata[8*k+:8] : 8'h00;
      nkeep = nkeep + 16'(s_tkeep[k]);
    end
    // A frame's first beat starts from a zero window.
    acc_next = (beat == '0) ? '0 : acc;
    for (int b = 0; b < NB; b++) begin
      if (beat == BW'(b)) acc_next[8*DATA_BYTES*b+:8*DATA_BYTES] = masked;
    end
    len_next = ((beat == '0) ? 16'd0 : len) + 16'(nkeep);
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      beat <= '0;
      hdr_valid <= 1'b0;
    end else begin
      if (hdr_valid && hdr_ready) hdr_valid <= 1'b0;
      if (fire) begin
        if (s_tlast) begin
          beat <= '0;
          hdr_valid <= 1'b1;
        end else if (beat != BW'(NB)) begin
          beat <= beat + 1'b1;
        end
      end
    end
    if (fire) begin
      acc <= acc_next;
      len <= len_next;
      if (s_tlast) begin
        hdr_window <= acc_next;
        hdr_len <= len_next;
      end
    end
  end
endmodule
