package dev.skep.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.skep.resp.Frames.bytes;
import static org.assertj.core.api.Assertions.assertThat;

class ScanViewTest {
    @Test
    void readsWhatGetByteReadsFromDirectHeapAndCompositeBuffers() {
        byte[] text = bytes("xx*2\r\n$3\r\nGET\r\n$1\r\na\r\n");
        ByteBuf direct = Frames.direct(64).writeBytes(text);
        ByteBuf heap = Unpooled.buffer(64).writeBytes(text);
        ByteBuf composite = Unpooled.wrappedBuffer(Unpooled.wrappedBuffer(text, 0, 7),
                Unpooled.wrappedBuffer(text, 7, text.length - 7));
        ByteBuf slice = direct.slice(2, text.length - 2); // index 0 of the slice is index 2 of the buffer
        try {
            for (ByteBuf buf : List.of(direct, heap, composite, slice)) {
                ScanView view = ScanView.of(buf);
                for (int i = buf.readerIndex(); i < buf.writerIndex(); i++) {
                    assertThat(view.get(i)).as("%s at %d", buf, i).isEqualTo(buf.getByte(i));
                }
                int end = buf.writerIndex();
                assertThat(view.indexOf(0, end, (byte) '\r')).isEqualTo(buf.indexOf(0, end, (byte) '\r'));
                assertThat(view.indexOf(6, end, (byte) '$')).isEqualTo(buf.indexOf(6, end, (byte) '$'));
                assertThat(view.indexOf(0, end, (byte) '#')).isEqualTo(-1);
                assertThat(view.indexOf(3, 3, (byte) '2')).isEqualTo(-1);
            }
        } finally {
            direct.release();
        }
    }

    @Test
    void aViewFollowsTheBufferItWasLastAttachedTo() {
        ByteBuf first = Frames.direct(8).writeBytes(bytes("+OK\r\n"));
        ByteBuf second = Unpooled.wrappedBuffer(bytes(":1\r\n"));
        try {
            ScanView view = ScanView.of(first);
            assertThat(view.get(0)).isEqualTo((byte) '+');
            view.attach(second);
            assertThat(view.get(0)).isEqualTo((byte) ':');
            view.attach(first);
            assertThat(view.indexOf(0, 5, (byte) '\n')).isEqualTo(4);
        } finally {
            first.release();
        }
    }
}
