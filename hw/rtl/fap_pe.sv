`timescale 1ns/1ns
// fap_pe.sv -- one processing element of the weight-stationary FAP array.
//
// Registers (all updated on the rising edge of clk, from pre-edge values):
//   w_q/wv_q     active weight and its valid bit
//   ws_q/wsv_q   shadow weight (only when DOUBLE_BUFFERED = 1)
//   a_q/av_q     activation moving right
//   p_q/pv_q     partial sum moving down
// FAP bypass: when `bypass` is 1 the PE does no MAC and passes the partial
// sum straight through (still one register stage); the activation still
// moves on.  A test-only stuck-at fault (STUCK_AT = 1) forces one bit of the
// MAC result of this PE when stuck_en is 1.
//
// Contract (see docs/rtl-cosim.md):
//   mac      = av_in & wv_q & !bypass
//   p_q     <= mac ? stuck(p_in + sext(w_q) * sext(a_in)) : p_in
//   pv_q    <= TOP_ROW ? (av_in & wv_q) : pv_in
//   a_q     <= a_in;  av_q <= av_in & wv_q
//   weight chain: shift_w loads w_in/wv_in into the chain register
//                 (active register if single-buffered, shadow if double-buffered);
//                 swap (double-buffered) copies shadow -> active.
// A user PE must keep these ports and this timing to drop into fap_array.
module fap_pe #(
    parameter int W_W = 8,              // weight width
    parameter int A_W = 8,              // activation width
    parameter int P_W = 32,             // partial-sum width (wraps)
    parameter bit DOUBLE_BUFFERED = 1'b0,
    parameter bit TOP_ROW = 1'b0,       // row 0: psum slots are born here
    parameter bit STUCK_AT = 1'b1,      // include the test-only stuck-at injector
    // 1: the FAP bypass (default). 0: no bypass, `bypass` ignored -- only for
    // measuring what the bypass costs in area (hw/synth/synth_pe.sh).
    parameter bit BYPASS_MUX = 1'b1
) (
    input  logic                  clk,
    input  logic                  rst,        // asynchronous, active high: all registers to 0
    input  logic                  bypass,     // static FAP fault bit (1 = faulty, bypassed)
    // test-only stuck-at on one bit of the MAC result
    input  logic                  stuck_en,
    input  logic [7:0]            stuck_bit,
    input  logic                  stuck_val,
    // weight chain (enters from the PE above, leaves to the PE below)
    input  logic                  shift_w,
    /* verilator lint_off UNUSEDSIGNAL */  // swap is unused when single-buffered
    input  logic                  swap,
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic signed [W_W-1:0] w_in,
    input  logic                  wv_in,
    output logic signed [W_W-1:0] w_chain,    // chain register (to the PE below)
    output logic                  wv_chain,
    // activation (from the left, to the right)
    input  logic signed [A_W-1:0] a_in,
    input  logic                  av_in,
    output logic signed [A_W-1:0] a_out,
    output logic                  av_out,
    // partial sum (from above, to below)
    input  logic signed [P_W-1:0] p_in,
    input  logic                  pv_in,
    output logic signed [P_W-1:0] p_out,
    output logic                  pv_out
);
    logic signed [W_W-1:0] w_q;
    logic                  wv_q;
    logic signed [A_W-1:0] a_q;
    logic                  av_q;
    logic signed [P_W-1:0] p_q;
    logic                  pv_q;

    logic                  mac;
    logic signed [P_W-1:0] prod, sum, sum_f;

`ifdef FAP_BROKEN_BYPASS
    // Deliberately wrong mux (co-simulation self-test only): bypass inverted.
    assign mac  = av_in & wv_q & (bypass | ~BYPASS_MUX);
`else
    assign mac  = av_in & wv_q & (~bypass | ~BYPASS_MUX);
`endif
    logic signed [P_W-1:0] w_ext, a_ext;
    assign w_ext = {{(P_W-W_W){w_q[W_W-1]}}, w_q};   // sign-extend the operands
    assign a_ext = {{(P_W-A_W){a_in[A_W-1]}}, a_in};
    assign prod  = w_ext * a_ext;                     // product wraps to P_W bits
    assign sum  = p_in + prod;                        // two's-complement wrap

    // test-only stuck-at: force bit stuck_bit of the MAC result to stuck_val
    logic [P_W-1:0] stuck_mask;
    assign stuck_mask = (STUCK_AT && stuck_en) ? ({{(P_W-1){1'b0}}, 1'b1} << stuck_bit) : '0;
    assign sum_f = stuck_val ? (sum | stuck_mask) : (sum & ~stuck_mask);

    always_ff @(posedge clk or posedge rst) begin
        if (rst) begin
            a_q <= '0; av_q <= 1'b0;
            p_q <= '0; pv_q <= 1'b0;
        end else begin
            a_q  <= a_in;
            av_q <= av_in & wv_q;
            p_q  <= mac ? sum_f : p_in;
            pv_q <= TOP_ROW ? (av_in & wv_q) : pv_in;
        end
    end

    generate
        if (DOUBLE_BUFFERED) begin : g_db
            logic signed [W_W-1:0] ws_q;
            logic                  wsv_q;
            always_ff @(posedge clk or posedge rst) begin
                if (rst) begin
                    ws_q <= '0; wsv_q <= 1'b0; w_q <= '0; wv_q <= 1'b0;
                end else begin
                    if (shift_w) begin ws_q <= w_in; wsv_q <= wv_in; end
                    if (swap)    begin w_q <= ws_q;  wv_q <= wsv_q; end
                end
            end
            assign w_chain  = ws_q;
            assign wv_chain = wsv_q;
        end else begin : g_sb
            always_ff @(posedge clk or posedge rst) begin
                if (rst) begin
                    w_q <= '0; wv_q <= 1'b0;
                end else if (shift_w) begin
                    w_q <= w_in; wv_q <= wv_in;
                end
            end
            assign w_chain  = w_q;
            assign wv_chain = wv_q;
        end
    endgenerate

    assign a_out     = a_q;
    assign av_out    = av_q;
    assign p_out     = p_q;
    assign pv_out    = pv_q;
endmodule
