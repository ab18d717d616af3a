`timescale 1ns/1ns
// fap_array.sv -- ROWS x COLS weight-stationary array of fap_pe with FAP bypass.
//
// PE(i,j): row i (0 at the top), column j (0 at the left).
//   activations enter row i at the left (feed[i], feed_valid[i]) and move right;
//   partial sums enter each column at the top as 0 and leave at the bottom
//   (p_bottom[j], pv_bottom[j]: the registers of PE(ROWS-1, j));
//   weights enter each column at the top (weight_in[j], weight_valid_in[j]) and
//   move down one row per shift_weights edge (into the shadow chain when
//   DOUBLE_BUFFERED = 1; swap copies shadow -> active in every PE at once).
// fault[i*COLS+j] = 1 bypasses PE(i,j).  Row/column bypass: row_off[i] = 1 or
// col_off[j] = 1 switches the whole line off, every PE on it bypassed by the same
// FAP mux, so activations and partial sums pass through it one register stage
// per PE (docs/mitigations.md); all zero, the array is the plain FAP array.  The stuck-at port (test only) forces bit
// stuck_bit of PE(stuck_row, stuck_col)'s MAC result to stuck_val when stuck_en.
// The PE module can be replaced by a user PE with the same ports and
// parameters: compile with +define+FAP_PE_MODULE=my_pe (Icarus -DFAP_PE_MODULE=my_pe).
`ifndef FAP_PE_MODULE
`define FAP_PE_MODULE fap_pe
`endif
module fap_array #(
    parameter int ROWS = 4,
    parameter int COLS = 4,
    parameter int DOUBLE_BUFFERED = 0,     // 0: single-buffered, 1: double-buffered (shadow weights)
    parameter int W_W = 8,
    parameter int A_W = 8,
    parameter int P_W = 32,
    parameter int STUCK_AT = 1             // 1: include the test-only stuck-at injector
) (
    input  logic                    clk,
    input  logic                    rst,
    input  logic [ROWS*COLS-1:0]    fault,
    input  logic [ROWS-1:0]         row_off,          // row/column bypass: switched-off lines
    input  logic [COLS-1:0]         col_off,
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
    // inter-PE nets: index [i][j]
    logic signed [W_W-1:0] wch [ROWS][COLS];
    logic                  wvch[ROWS][COLS];
    logic signed [A_W-1:0] a   [ROWS][COLS];
    logic                  av  [ROWS][COLS];
    logic signed [P_W-1:0] p   [ROWS][COLS];
    logic                  pv  [ROWS][COLS];

    genvar i, j;
    generate
        for (i = 0; i < ROWS; i++) begin : g_row
            for (j = 0; j < COLS; j++) begin : g_col
                logic signed [W_W-1:0] w_in_ij;
                logic                  wv_in_ij;
                logic signed [A_W-1:0] a_in_ij;
                logic                  av_in_ij;
                logic signed [P_W-1:0] p_in_ij;
                logic                  pv_in_ij;
                logic                  stuck_here;

                if (i == 0) begin : g_top
                    assign w_in_ij  = weight_in[j*W_W +: W_W];
                    assign wv_in_ij = weight_valid_in[j];
                    assign p_in_ij  = '0;
                    assign pv_in_ij = 1'b0;
                end else begin : g_mid
                    assign w_in_ij  = wch[i-1][j];
                    assign wv_in_ij = wvch[i-1][j];
`ifdef FAP_BROKEN_PASSTHROUGH
                    // Deliberately wrong (co-simulation self-test only): a switched-off
                    // row blocks the partial sums instead of passing them down.
                    assign p_in_ij  = row_off[i-1] ? '0 : p[i-1][j];
`else
                    assign p_in_ij  = p[i-1][j];
`endif
                    assign pv_in_ij = pv[i-1][j];
                end
                if (j == 0) begin : g_left
                    assign a_in_ij  = feed[i*A_W +: A_W];
                    assign av_in_ij = feed_valid[i];
                end else begin : g_right
`ifdef FAP_BROKEN_PASSTHROUGH
                    // ... and a switched-off column blocks the activations.
                    assign a_in_ij  = col_off[j-1] ? '0 : a[i][j-1];
`else
                    assign a_in_ij  = a[i][j-1];
`endif
                    assign av_in_ij = av[i][j-1];
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
                    .w_in(w_in_ij), .wv_in(wv_in_ij),
                    .w_chain(wch[i][j]), .wv_chain(wvch[i][j]),
                    .a_in(a_in_ij), .av_in(av_in_ij),
                    .a_out(a[i][j]), .av_out(av[i][j]),
                    .p_in(p_in_ij), .pv_in(pv_in_ij),
                    .p_out(p[i][j]), .pv_out(pv[i][j])
                );
            end
        end
        for (j = 0; j < COLS; j++) begin : g_out
            assign p_bottom[j*P_W +: P_W] = p[ROWS-1][j];
            assign pv_bottom[j]           = pv[ROWS-1][j];
        end
    endgenerate
endmodule
