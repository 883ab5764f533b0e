package org.mergelab.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tech.tablesaw.api.Table;

class DataManifestTest {
    @Test
    void everyFileTheProjectUsesIsPresentAndIntact() {
        DataManifest m = DataManifest.load();
        assertTrue(m.entries().size() >= 20);
        for (DataManifest.Entry e : m.entries()) {
            assertTrue(!e.licence().isBlank() && !e.origin().isBlank(), e.path() + " needs licence and origin");
        }
        Table t = m.check(SharedData.root());
        for (int i = 0; i < t.rowCount(); i++) {
            assertEquals("ok", t.stringColumn("status").get(i), t.stringColumn("path").get(i));
        }
    }

    @Test
    void reportsMissingAndAlteredFiles(@TempDir Path fake) throws IOException {
        DataManifest m = DataManifest.load();
        DataManifest.Entry first = m.entries().get(0);
        Path altered = fake.resolve(first.path());
        Files.createDirectories(altered.getParent());
        byte[] bytes = Files.readAllBytes(SharedData.root().resolve(first.path()));
        bytes[bytes.length / 2] ^= 1;
        Files.write(altered, bytes);
        Table t = m.check(fake);
        assertEquals("wrong sha256", t.stringColumn("status").get(0));
        assertEquals("missing", t.stringColumn("status").get(1));
    }
}
