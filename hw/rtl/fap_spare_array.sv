`timescale 1ns/1ns
// fap_spare_array.sv -- the FAP array with spare PEs in the column-groups layout
// (docs/rtl-cosim.md, "Spare PEs"; docs/mitigations.md, "Spare PEs").
//
// ROWS x COLS fap_pe as in fap_array, plus one spare column per group of GROUP
// adjacent columns (group g = columns g*GROUP ..< (g+1)*GROUP): spare (r, g),
// a fap_spare_pe, can take the place of one PE of row r in group g.
//
// Configuration (static, like the fault bits), per spare s = g*ROWS + r (the
// spare index of fapsim's SpareLayout.columnGroups):
//   spare_en[s]                       1: spare s replaces a PE
//   spare_idx[s*SEL_W +: SEL_W]       which column of its group (0..GROUP-1)
// fault[i*COLS+j] is the chip's raw fault map: an unrepaired faulty PE stays
// bypassed by its FAP mux; a replaced PE's own fault bit does not matter,
// because its partial-sum output is not used.
//
// Dataflow of a replaced PE(r, c): spare (r, g) takes PE(r, c)'s activation,
// weight-chain and partial-sum inputs through its G:1 muxes and computes in the
// same cycle PE(r, c) would; PE(r+1, c) (or p_bottom) takes its partial sum
// from the spare through a 2:1 mux at PE(r, c)'s output.  PE(r, c) itself still
// passes its activation right and its weight chain down.  Same registers, same
// cycle: the array's timing is that of a fault-free array (the mux delays are
// in the clock period, docs/rtl-cosim.md).
`ifndef FAP_PE_MODULE
`define FAP_PE_MODULE fap_pe
`endif
module fap_spare_array #(
    parameter int ROWS = 4,
    parameter int COLS = 4,
    parameter int GROUP = 2,               // columns per group; must divide COLS
    parameter int DOUBLE_BUFFERED = 0,
    parameter int W_W = 8,
    parameter int A_W = 8,
    parameter int P_W = 32,
    parameter int STUCK_AT = 1,            // 1: include the test-only stuck-at injector
    localparam int NG = COLS / GROUP,      // groups = spare columns
    localparam int SEL_W = GROUP > 1 ? $clog2(GROUP) : 1
) (
    input  logic                    clk,
    input  logic                    rst,
    input  logic [ROWS*COLS-1:0]    fault,
    input  logic [ROWS*NG-1:0]      spare_en,
    input  logic [ROWS*NG*SEL_W-1:0] spare_idx,
    input  logic                    stuck_en,
    input  logic [15:0]             stuck_row,
    input  logic [15:0]             stuck_col,
    input  logic [7:0]              stuck_bit,
    input  logic                    stuck_val,
    input  logic                    shift_weights,
    input  logic                    swap,
    input  logic [COLS*W_W-1:0]     weight_in,
    input  logic [COLS-1:0]         weight_valid_in,
    input  logic [ROWS*A_W-1:0]     feed,
    input  logic [ROWS-1:0]         feed_valid,
    output logic [COLS*P_W-1:0]     p_bottom,
    output logic [COLS-1:0]         pv_bottom
);
    // What each array PE receives (index [i][j]) -- also the spare muxes' candidates.
    logic signed [W_W-1:0] w_in [ROWS][COLS];
    logic                  wv_in[ROWS][COLS];
    logic signed [A_W-1:0] a_in [ROWS][COLS];
    logic                  av_in[ROWS][COLS];
    logic signed [P_W-1:0] p_in [ROWS][COLS];
    logic                  pv_in[ROWS][COLS];
    // Each array PE's own outputs, and its position's partial-sum output after
    // the 2:1 spare mux (what the PE below sees).
    logic signed [W_W-1:0] wch [ROWS][COLS];
    logic                  wvch[ROWS][COLS];
    logic signed [A_W-1:0] a   [ROWS][COLS];
    logic                  av  [ROWS][COLS];
    logic signed [P_W-1:0] p   [ROWS][COLS];
    logic                  pv  [ROWS][COLS];
    logic signed [P_W-1:0] po  [ROWS][COLS];
    logic                  pvo [ROWS][COLS];
    // Each spare's partial-sum register, index [row][group].
    logic signed [P_W-1:0] sp  [ROWS][NG];
    logic                  spv [ROWS][NG];

    genvar i, j, g, q;
    generate
        for (i = 0; i < ROWS; i++) begin : g_row
            for (j = 0; j < COLS; j++) begin : g_col
                logic stuck_here, replaced;
                localparam int GI = j / GROUP;
                localparam int S = GI * ROWS + i;
                localparam logic [SEL_W-1:0] K = SEL_W'(j % GROUP);

                if (i == 0) begin : g_top
                    assign w_in[i][j]  = weight_in[j*W_W +: W_W];
                    assign wv_in[i][j] = weight_valid_in[j];
                    assign p_in[i][j]  = '0;
                    assign pv_in[i][j] = 1'b0;
                end else begin : g_mid
                    assign w_in[i][j]  = wch[i-1][j];
                    assign wv_in[i][j] = wvch[i-1][j];
                    assign p_in[i][j]  = po[i-1][j];
                    assign pv_in[i][j] = pvo[i-1][j];
                end
                if (j == 0) begin : g_left
                    assign a_in[i][j]  = feed[i*A_W +: A_W];
                    assign av_in[i][j] = feed_valid[i];
                end else begin : g_right
                    assign a_in[i][j]  = a[i][j-1];
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
                    .bypass(fault[i*COLS + j]),
                    .stuck_en(stuck_here), .stuck_bit(stuck_bit), .stuck_val(stuck_val),
                    .shift_w(shift_weights), .swap(swap),
                    .w_in(w_in[i][j]), .wv_in(wv_in[i][j]),
                    .w_chain(wch[i][j]), .wv_chain(wvch[i][j]),
                    .a_in(a_in[i][j]), .av_in(av_in[i][j]),
                    .a_out(a[i][j]), .av_out(av[i][j]),
                    .p_in(p_in[i][j]), .pv_in(pv_in[i][j]),
                    .p_out(p[i][j]), .pv_out(pv[i][j])
                );

                // The 2:1 spare output mux: a replaced PE's partial sum is the spare's.
                assign replaced = spare_en[S] && (spare_idx[S*SEL_W +: SEL_W] == K);
`ifdef FAP_BROKEN_SPARE_MUX
                // Deliberately wrong (co-simulation self-test only): the mux
                // ignores the select, so a replaced PE's own output is used.
                assign po[i][j]  = p[i][j];
                assign pvo[i][j] = pv[i][j];
                wire unused_replaced = replaced;
`else
                assign po[i][j]  = replaced ? sp[i][GI]  : p[i][j];
                assign pvo[i][j] = replaced ? spv[i][GI] : pv[i][j];
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
                    .p_out(sp[i][g]), .pv_out(spv[i][g])
                );
            end
        end
        for (j = 0; j < COLS; j++) begin : g_out
            assign p_bottom[j*P_W +: P_W] = po[ROWS-1][j];
            assign pv_bottom[j]           = pvo[ROWS-1][j];
        end
    endgenerate
endmodule
