`timescale 1ns/1ns
// fap_array_core.sv -- the one generate of the weight-stationary array, shared by
// fap_array (FAP, row/column bypass) and fap_spare_array (column-groups spares);
// instantiate those, not this (docs/rtl-cosim.md).
//
// PE(i,j): row i (0 at the top), column j (0 at the left).
//   activations enter row i at the left (feed[i], feed_valid[i]) and move right;
//   partial sums enter each column at the top as 0 and leave at the bottom
//   (p_bottom[j], pv_bottom[j]);
//   weights enter each column at the top (weight_in[j], weight_valid_in[j]) and
//   move down one row per shift_weights edge (into the shadow chain when
//   DOUBLE_BUFFERED = 1; swap copies shadow -> active in every PE at once).
// fault[i*COLS+j] = 1 bypasses PE(i,j).  Row/column bypass: row_off[i] = 1 or
// col_off[j] = 1 switches the whole line off, every PE on it bypassed by the same
// FAP mux, so activations and partial sums pass through it one register stage
// per PE (docs/mitigations.md).  The stuck-at port (test only) forces bit
// stuck_bit of PE(stuck_row, stuck_col)'s MAC result to stuck_val when stuck_en.
//
// SPARES = 1 adds one spare column per group of GROUP adjacent columns, its
// spare (r, g) a fap_spare_pe behind G:1 input muxes, and a 2:1 mux at every
// PE's partial-sum output; configuration spare_en/spare_idx per spare
// s = g*ROWS + r.  The dataflow and the timing argument: fap_spare_array.sv.
//
// The PE module can be replaced by a user PE with the same ports and
// parameters: compile with +define+FAP_PE_MODULE=my_pe (Icarus -DFAP_PE_MODULE=my_pe).
`ifndef FAP_PE_MODULE
`define FAP_PE_MODULE fap_pe
`endif
module fap_array_core #(
    parameter int ROWS = 4,
    parameter int COLS = 4,
    parameter int DOUBLE_BUFFERED = 0,     // 0: single-buffered, 1: double-buffered (shadow weights)
    parameter int W_W = 8,
    parameter int A_W = 8,
    parameter int P_W = 32,
    parameter int STUCK_AT = 1,            // 1: include the test-only stuck-at injector
    parameter int SPARES = 0,              // 1: column-groups spare PEs
    parameter int GROUP = COLS,            // columns per spare column; must divide COLS
    localparam int NG = COLS / GROUP,
    localparam int SEL_W = GROUP > 1 ? $clog2(GROUP) : 1
) (
    input  logic                    clk,
    input  logic                    rst,
    input  logic [ROWS*COLS-1:0]    fault,
    input  logic [ROWS-1:0]         row_off,          // row/column bypass: switched-off lines
    input  logic [COLS-1:0]         col_off,
    /* verilator lint_off UNUSEDSIGNAL */  // (without spares)
    input  logic [ROWS*NG-1:0]      spare_en,
    input  logic [ROWS*NG*SEL_W-1:0] spare_idx,
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic                    stuck_en,
    input  logic [15:0]             stuck_row,
    input  logic [15:0]             stuck_col,
    input  logic [7:0]              stuck_bit,
    input  logic                    stuck_val,
    input  logic                    shift_weights,
    input  logic                    swap,
    input  logic [COLS*W_W-1:0]     weight_in,        // column j at [j*W_W +: W_W]
    input  logic [COLS-1:0]         weight_valid_in,
    input  logic [ROWS*A_W-1:0]     feed,             // row i at [i*A_W +: A_W]
    input  logic [ROWS-1:0]         feed_valid,
    output logic [COLS*P_W-1:0]     p_bottom,         // column j at [j*P_W +: P_W]
    output logic [COLS-1:0]         pv_bottom
);
    // What each PE receives (index [i][j]) -- also the spare muxes' candidates.
    /* verilator lint_off UNUSEDSIGNAL */  // (without spares, the last row's p_in is all they read)
    logic signed [W_W-1:0] w_in [ROWS][COLS];
    logic                  wv_in[ROWS][COLS];
    logic signed [A_W-1:0] a_in [ROWS][COLS];
    logic                  av_in[ROWS][COLS];
    logic signed [P_W-1:0] p_in [ROWS][COLS];
    logic                  pv_in[ROWS][COLS];
    /* verilator lint_on UNUSEDSIGNAL */
    // Each PE's own outputs, and its position's partial-sum output after the
    // spare mux (what the PE below sees; the PE's own without spares).
    logic signed [W_W-1:0] wch [ROWS][COLS];
    logic                  wvch[ROWS][COLS];
    logic signed [A_W-1:0] a   [ROWS][COLS];
    logic                  av  [ROWS][COLS];
    logic signed [P_W-1:0] p   [ROWS][COLS];
    logic                  pv  [ROWS][COLS];
    logic signed [P_W-1:0] po  [ROWS][COLS];
    logic                  pvo [ROWS][COLS];

    genvar i, j, g, q;
    generate
        for (i = 0; i < ROWS; i++) begin : g_row
            for (j = 0; j < COLS; j++) begin : g_col
                logic stuck_here;
                if (i == 0) begin : g_top
                    assign w_in[i][j]  = weight_in[j*W_W +: W_W];
                    assign wv_in[i][j] = weight_valid_in[j];
                    assign p_in[i][j]  = '0;
                    assign pv_in[i][j] = 1'b0;
                end else begin : g_mid
                    assign w_in[i][j]  = wch[i-1][j];
                    assign wv_in[i][j] = wvch[i-1][j];
`ifdef FAP_BROKEN_PASSTHROUGH
                    // Deliberately wrong (co-simulation self-test only): a switched-off
                    // row blocks the partial sums instead of passing them down.
                    assign p_in[i][j]  = row_off[i-1] ? '0 : po[i-1][j];
`else
                    assign p_in[i][j]  = po[i-1][j];
`endif
                    assign pv_in[i][j] = pvo[i-1][j];
                end
                if (j == 0) begin : g_left
                    assign a_in[i][j]  = feed[i*A_W +: A_W];
                    assign av_in[i][j] = feed_valid[i];
                end else begin : g_right
`ifdef FAP_BROKEN_PASSTHROUGH
                    // ... and a switched-off column blocks the activations.
                    assign a_in[i][j]  = col_off[j-1] ? '0 : a[i][j-1];
`else
                    assign a_in[i][j]  = a[i][j-1];
`endif
                    assign av_in[i][j] = av[i][j-1];
                end
                localparam logic [15:0] ROW_ID = i;
                localparam logic [15:0] COL_ID = j;
                assign stuck_here = stuck_en && (stuck_row == ROW_ID) && (stuck_col == COL_ID);

                `FAP_PE_MODULE #(
                    .W_W(W_W), .A_W(A_W), .P_W(P_W),
                    .DOUBLE_BUFFERED(DOUBLE_BUFFERED != 0),
                    .TOP_ROW(i == 0),
                    .STUCK_AT(STUCK_AT != 0)
                ) u_pe (
                    .clk(clk), .rst(rst),
                    .bypass(fault[i*COLS + j] | row_off[i] | col_off[j]),
                    .stuck_en(stuck_here), .stuck_bit(stuck_bit), .stuck_val(stuck_val),
                    .shift_w(shift_weights), .swap(swap),
                    .w_in(w_in[i][j]), .wv_in(wv_in[i][j]),
                    .w_chain(wch[i][j]), .wv_chain(wvch[i][j]),
                    .a_in(a_in[i][j]), .av_in(av_in[i][j]),
                    .a_out(a[i][j]), .av_out(av[i][j]),
                    .p_in(p_in[i][j]), .pv_in(pv_in[i][j]),
                    .p_out(p[i][j]), .pv_out(pv[i][j])
                );
                if (SPARES == 0) begin : g_plain
                    assign po[i][j]  = p[i][j];
                    assign pvo[i][j] = pv[i][j];
                end
            end

            if (SPARES != 0) begin : g_spares
                // Each spare's partial-sum register, index [group].
                logic signed [P_W-1:0] sp  [NG];
                logic                  spv [NG];
                for (j = 0; j < COLS; j++) begin : g_mux
                    localparam int S = (j / GROUP) * ROWS + i;
                    localparam logic [SEL_W-1:0] K = SEL_W'(j % GROUP);
                    logic replaced;
                    // The 2:1 spare output mux: a replaced PE's partial sum is the spare's.
                    assign replaced = spare_en[S] && (spare_idx[S*SEL_W +: SEL_W] == K);
`ifdef FAP_BROKEN_SPARE_MUX
                    // Deliberately wrong (co-simulation self-test only): the mux
                    // ignores the select, so a replaced PE's own output is used.
                    assign po[i][j]  = p[i][j];
                    assign pvo[i][j] = pv[i][j];
                    wire unused_replaced = replaced;
                    wire [P_W:0] unused_spare = {spv[j / GROUP], sp[j / GROUP]};
`else
                    assign po[i][j]  = replaced ? sp[j / GROUP]  : p[i][j];
                    assign pvo[i][j] = replaced ? spv[j / GROUP] : pv[i][j];
`endif
                end
                for (g = 0; g < NG; g++) begin : g_spare
                    localparam int S = g * ROWS + i;
                    logic [GROUP*W_W-1:0] w_cand;
                    logic [GROUP-1:0]     wv_cand, av_cand, pv_cand;
                    logic [GROUP*A_W-1:0] a_cand;
                    logic [GROUP*P_W-1:0] p_cand;
                    for (q = 0; q < GROUP; q++) begin : g_cand
                        assign w_cand[q*W_W +: W_W] = w_in[i][g*GROUP + q];
                        assign wv_cand[q]           = wv_in[i][g*GROUP + q];
                        assign a_cand[q*A_W +: A_W] = a_in[i][g*GROUP + q];
                        assign av_cand[q]           = av_in[i][g*GROUP + q];
                        assign p_cand[q*P_W +: P_W] = p_in[i][g*GROUP + q];
                        assign pv_cand[q]           = pv_in[i][g*GROUP + q];
                    end
                    fap_spare_pe #(
                        .G(GROUP), .SEL_W(SEL_W), .W_W(W_W), .A_W(A_W), .P_W(P_W),
                        .DOUBLE_BUFFERED(DOUBLE_BUFFERED != 0), .TOP_ROW(i == 0)
                    ) u_spare (
                        .clk(clk), .rst(rst),
                        .en(spare_en[S]), .idx(spare_idx[S*SEL_W +: SEL_W]),
                        .shift_w(shift_weights), .swap(swap),
                        .w_cand(w_cand), .wv_cand(wv_cand),
                        .a_cand(a_cand), .av_cand(av_cand),
                        .p_cand(p_cand), .pv_cand(pv_cand),
                        .p_out(sp[g]), .pv_out(spv[g])
                    );
                end
            end
        end
        for (j = 0; j < COLS; j++) begin : g_out
            assign p_bottom[j*P_W +: P_W] = po[ROWS-1][j];
            assign pv_bottom[j]           = pvo[ROWS-1][j];
        end
    endgenerate
endmodule
