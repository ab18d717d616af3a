`timescale 1ns/1ns
// fap_pe_alt.sv -- an independently written PE with the same contract as
// hw/rtl/fap_pe.sv, used to show that a user PE drops into fap_array and the
// co-simulation flow unchanged:
//   hw/cosim/run_cosim.py --pe hw/rtl/examples/fap_pe_alt.sv --pe-module fap_pe_alt batch ...
// Different structure on purpose: the MAC is a signed multiply on $signed
// operands, the FAP bypass mux is an explicit 2:1 mux on the next-psum value,
// the stuck-at is a per-bit loop, and the weight registers use one always_ff
// for both policies.
module fap_pe_alt #(
    parameter int W_W = 8,
    parameter int A_W = 8,
    parameter int P_W = 32,
    parameter bit DOUBLE_BUFFERED = 1'b0,
    parameter bit TOP_ROW = 1'b0,
    parameter bit STUCK_AT = 1'b1
) (
    input  logic                  clk,
    input  logic                  rst,
    input  logic                  bypass,
    input  logic                  stuck_en,
    input  logic [7:0]            stuck_bit,
    input  logic                  stuck_val,
    input  logic                  shift_w,
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic                  swap,
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic signed [W_W-1:0] w_in,
    input  logic                  wv_in,
    output logic signed [W_W-1:0] w_chain,
    output logic                  wv_chain,
    input  logic signed [A_W-1:0] a_in,
    input  logic                  av_in,
    output logic signed [A_W-1:0] a_out,
    output logic                  av_out,
    input  logic signed [P_W-1:0] p_in,
    input  logic                  pv_in,
    output logic signed [P_W-1:0] p_out,
    output logic                  pv_out
);
    logic signed [W_W-1:0] w_q, ws_q;    // active, shadow (shadow unused when single-buffered)
    logic                  wv_q, wsv_q;
    logic signed [A_W-1:0] a_q;
    logic                  av_q;
    logic signed [P_W-1:0] p_q;
    logic                  pv_q;

    logic signed [W_W+A_W-1:0] product;
    logic signed [P_W-1:0]     mac_out, mac_forced, p_next;
    logic                      computes;

    assign product  = $signed(w_q) * $signed(a_in);          // exact W_W+A_W-bit signed product
    assign mac_out  = p_in + P_W'(product);                   // sign-extended, wraps to P_W bits
    always_comb begin
        mac_forced = mac_out;
        for (int b = 0; b < P_W; b++)
            if (STUCK_AT && stuck_en && stuck_bit == 8'(b)) mac_forced[b] = stuck_val;
    end
    assign computes = av_in && wv_q;                          // the PE would multiply ...
    assign p_next   = (computes && !bypass) ? mac_forced      // ... unless its FAP mux bypasses it
                                            : p_in;

    always_ff @(posedge clk or posedge rst) begin
        if (rst) begin
            {w_q, wv_q, ws_q, wsv_q, a_q, av_q, p_q, pv_q} <= '0;
        end else begin
            a_q  <= a_in;
            av_q <= computes;
            p_q  <= p_next;
            pv_q <= TOP_ROW ? computes : pv_in;
            if (DOUBLE_BUFFERED) begin
                if (shift_w) {ws_q, wsv_q} <= {w_in, wv_in};
                if (swap)    {w_q, wv_q}   <= {ws_q, wsv_q};
            end else if (shift_w) begin
                {w_q, wv_q} <= {w_in, wv_in};
            end
        end
    end

    assign w_chain  = DOUBLE_BUFFERED ? ws_q  : w_q;
    assign wv_chain = DOUBLE_BUFFERED ? wsv_q : wv_q;
    assign a_out = a_q;  assign av_out = av_q;
    assign p_out = p_q;  assign pv_out = pv_q;
endmodule
