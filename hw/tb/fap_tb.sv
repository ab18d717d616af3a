// fap_tb.sv -- file-driven testbench for fap_array (Verilator --binary and Icarus).
//
// Plusargs:
//   +dir=DIR    vector set written by `fapsim vectors` (or hw/cosim/refmodel.py):
//                 DIR/faults.txt    ROWS*COLS bits (0/1), row-major, whitespace separated
//                 DIR/stuckat.txt   "en row col bit value"
//                 DIR/lines.txt     optional (row/column bypass): ROWS row_off bits,
//                                   then COLS col_off bits; absent: all lines on
//                 DIR/stimulus.txt  header "edges E", then one line per edge:
//                                   shift swap  C x (wv w_hex)  R x (fv a_hex)
//   +out=FILE   per-edge bottom outputs: one line per edge, C x (pv p_hex8), then
//               "cycles N" with N = (last edge with any valid bottom output) + 2
//   +vcd=FILE   optional VCD of every PE's registers and bypass bit
// Build with ROWS, COLS, DOUBLE_BUFFERED matching the vector set (meta.txt).
// Edge e (numbered from 0) is the rising edge at time 10*(e+1); its inputs are
// driven on the falling edge 5 time units before it, and the bottom outputs are
// sampled 1 time unit after it.
`timescale 1ns/1ns
module fap_tb;
    parameter int ROWS = 4;
    parameter int COLS = 4;
    parameter int DOUBLE_BUFFERED = 0;     // 0: single-buffered, 1: double-buffered
    localparam int W_W = 8, A_W = 8, P_W = 32;

    logic                 clk = 1'b1;
    logic                 rst = 1'b0;
    logic [ROWS*COLS-1:0] fault = '0;
    logic [ROWS-1:0]      row_off = '0;
    logic [COLS-1:0]      col_off = '0;
    logic                 stuck_en = 1'b0;
    logic [15:0]          stuck_row = '0, stuck_col = '0;
    logic [7:0]           stuck_bit = '0;
    logic                 stuck_val = 1'b0;
    logic                 shift_weights = 1'b0, swap = 1'b0;
    logic [COLS*W_W-1:0]  weight_in = '0;
    logic [COLS-1:0]      weight_valid_in = '0;
    logic [ROWS*A_W-1:0]  feed = '0;
    logic [ROWS-1:0]      feed_valid = '0;
    logic [COLS*P_W-1:0]  p_bottom;
    logic [COLS-1:0]      pv_bottom;

    fap_array #(.ROWS(ROWS), .COLS(COLS), .DOUBLE_BUFFERED(DOUBLE_BUFFERED),
                .W_W(W_W), .A_W(A_W), .P_W(P_W), .STUCK_AT(1)) dut (.*);

    /* verilator lint_off BLKSEQ */
    always #5 clk = ~clk;                    // falls at 10e+5, rises at 10(e+1)
    /* verilator lint_on BLKSEQ */

    // Stimulus staging: the file-reading process fills these, a clocked process
    // drives the DUT inputs from them on the falling edge before each rising
    // edge.  (With the DUT inputs driven straight from the timed initial
    // process, the 5.006 release of Verilator evaluated the combinational MAC
    // one edge late.)
    logic                 stg_shift = 1'b0, stg_swap = 1'b0;
    logic [COLS*W_W-1:0]  stg_w = '0;
    logic [COLS-1:0]      stg_wv = '0;
    logic [ROWS*A_W-1:0]  stg_feed = '0;
    logic [ROWS-1:0]      stg_fv = '0;
    always @(negedge clk) begin
        shift_weights   <= stg_shift;
        swap            <= stg_swap;
        weight_in       <= stg_w;
        weight_valid_in <= stg_wv;
        feed            <= stg_feed;
        feed_valid      <= stg_fv;
    end

    string dir, outf, vcdf;
    /* verilator lint_off UNUSEDSIGNAL */
    int fd, fo, rc, edges, e, k, last_valid, x0, x1, x2, x3, x4;
    logic [31:0] v, h;
    /* verilator lint_on UNUSEDSIGNAL */

    initial begin
        if (!$value$plusargs("dir=%s", dir)) begin $display("fap_tb: need +dir=DIR"); $finish; end
        if (!$value$plusargs("out=%s", outf)) outf = {dir, "/rtl_out.txt"};
        if ($value$plusargs("vcd=%s", vcdf)) begin
            $dumpfile(vcdf);
            $dumpvars(0, fap_tb.dut);
        end
        // fault map
        fd = $fopen({dir, "/faults.txt"}, "r");
        if (fd == 0) begin $display("fap_tb: cannot open %s/faults.txt", dir); $finish; end
        for (k = 0; k < ROWS*COLS; k++) begin
            rc = $fscanf(fd, "%d", v);
            if (rc != 1) begin $display("fap_tb: faults.txt: short file at %0d", k); $finish; end
            fault[k] = v[0];
        end
        $fclose(fd);
        // switched-off lines (row/column bypass), when the vector set has them
        fd = $fopen({dir, "/lines.txt"}, "r");
        if (fd != 0) begin
            for (k = 0; k < ROWS + COLS; k++) begin
                rc = $fscanf(fd, "%d", v);
                if (rc != 1) begin $display("fap_tb: lines.txt: short file at %0d", k); $finish; end
                if (k < ROWS) row_off[k] = v[0]; else col_off[k - ROWS] = v[0];
            end
            $fclose(fd);
        end
        // stuck-at spec
        fd = $fopen({dir, "/stuckat.txt"}, "r");
        if (fd == 0) begin $display("fap_tb: cannot open %s/stuckat.txt", dir); $finish; end
        rc = $fscanf(fd, "%d %d %d %d %d", x0, x1, x2, x3, x4);
        if (rc != 5) begin $display("fap_tb: stuckat.txt: expected 5 integers"); $finish; end
        stuck_en = x0[0]; stuck_row = x1[15:0]; stuck_col = x2[15:0]; stuck_bit = x3[7:0]; stuck_val = x4[0];
        $fclose(fd);
        // stimulus
        fd = $fopen({dir, "/stimulus.txt"}, "r");
        if (fd == 0) begin $display("fap_tb: cannot open %s/stimulus.txt", dir); $finish; end
        rc = $fscanf(fd, "edges %d", edges);
        if (rc != 1) begin $display("fap_tb: stimulus.txt: missing 'edges E' header"); $finish; end
        fo = $fopen(outf, "w");
        if (fo == 0) begin $display("fap_tb: cannot write %s", outf); $finish; end
        last_valid = -1;
        #1 rst = 1'b1;                       // asynchronous reset pulse at time 1..2,
        #1 rst = 1'b0;                       // released before edge 0
        for (e = 0; e < edges; e++) begin
            // read edge e's inputs into the staging registers (time 2, then 10e+1);
            // the negedge process below drives them at 10e+5
            rc = $fscanf(fd, "%d %d", x0, x1);
            if (rc != 2) begin $display("fap_tb: stimulus.txt: edge %0d: bad control fields", e); $finish; end
            stg_shift = x0[0]; stg_swap = x1[0];
            for (k = 0; k < COLS; k++) begin
                rc = $fscanf(fd, "%d %h", x0, h);
                if (rc != 2) begin $display("fap_tb: stimulus.txt: edge %0d: bad weight field %0d", e, k); $finish; end
                stg_wv[k] = x0[0];
                stg_w[k*W_W +: W_W] = h[W_W-1:0];
            end
            for (k = 0; k < ROWS; k++) begin
                rc = $fscanf(fd, "%d %h", x0, h);
                if (rc != 2) begin $display("fap_tb: stimulus.txt: edge %0d: bad feed field %0d", e, k); $finish; end
                stg_fv[k] = x0[0];
                stg_feed[k*A_W +: A_W] = h[A_W-1:0];
            end
            @(posedge clk);                  // time 10*(e+1): edge e
            #1;                              // sample after the edge
            for (k = 0; k < COLS; k++) begin
                $fwrite(fo, "%0d %h", pv_bottom[k], p_bottom[k*P_W +: P_W]);
                if (k != COLS-1) $fwrite(fo, " ");
                if (pv_bottom[k]) last_valid = e;
            end
            $fwrite(fo, "\n");
        end
        // The accumulators capture the last valid bottom psum on the edge after it.
        $fwrite(fo, "cycles %0d\n", last_valid + 2);
        $fclose(fo);
        $fclose(fd);
        #4 $finish;
    end
endmodule
